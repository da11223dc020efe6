// Package admission is Stella's Kubernetes ValidatingAdmissionWebhook: it
// reads AdmissionReview v1 requests for Pods and workload objects, decides
// every container image (containers, initContainers, ephemeralContainers)
// through an injected Decider, and answers allowed or denied with the
// policy's reasons. Decisions are cached per image digest; a configurable
// deadline bounds each request and fail-open or fail-closed says what an
// undecided image means.
//
// The AdmissionReview types are Stella's own minimal copies of
// k8s.io/api/admission/v1, to keep the Kubernetes client libraries out of
// the binary; their JSON is the same.
package admission

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// APIVersion and Kind of the reviews this package reads and writes.
const (
	APIVersion = "admission.k8s.io/v1"
	Kind       = "AdmissionReview"
)

// Review is an AdmissionReview.
type Review struct {
	APIVersion string    `json:"apiVersion"`
	Kind       string    `json:"kind"`
	Request    *Request  `json:"request,omitempty"`
	Response   *Response `json:"response,omitempty"`
}

// GroupVersionKind names a type.
type GroupVersionKind struct {
	Group   string `json:"group"`
	Version string `json:"version"`
	Kind    string `json:"kind"`
}

// GroupVersionResource names a resource.
type GroupVersionResource struct {
	Group    string `json:"group"`
	Version  string `json:"version"`
	Resource string `json:"resource"`
}

// Request is AdmissionRequest: what the API server asks about.
type Request struct {
	UID         string               `json:"uid"`
	Kind        GroupVersionKind     `json:"kind"`
	Resource    GroupVersionResource `json:"resource"`
	SubResource string               `json:"subResource,omitempty"`
	Name        string               `json:"name,omitempty"`
	Namespace   string               `json:"namespace,omitempty"`
	Operation   string               `json:"operation"` // CREATE, UPDATE, DELETE, CONNECT
	UserInfo    struct {
		Username string   `json:"username,omitempty"`
		Groups   []string `json:"groups,omitempty"`
	} `json:"userInfo"`
	Object    json.RawMessage `json:"object,omitempty"`
	OldObject json.RawMessage `json:"oldObject,omitempty"`
	DryRun    *bool           `json:"dryRun,omitempty"`
}

// Status is the metav1.Status of a denial.
type Status struct {
	Code    int32  `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
	Reason  string `json:"reason,omitempty"`
}

// Response is AdmissionResponse.
type Response struct {
	UID      string   `json:"uid"`
	Allowed  bool     `json:"allowed"`
	Result   *Status  `json:"status,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
}

// MaxReviewSize bounds a request body; the API server sends objects of at
// most about 1.5 MB.
const MaxReviewSize = 4 << 20

// DecodeReview parses and checks an AdmissionReview request.
func DecodeReview(b []byte) (*Review, error) {
	if len(b) > MaxReviewSize {
		return nil, fmt.Errorf("admission review: %d bytes, more than %d", len(b), MaxReviewSize)
	}
	var r Review
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("admission review: %w", err)
	}
	if r.APIVersion != APIVersion || r.Kind != Kind {
		return nil, fmt.Errorf("admission review: apiVersion %q kind %q: want %s %s (configure the webhook with admissionReviewVersions: [v1])", r.APIVersion, r.Kind, APIVersion, Kind)
	}
	if r.Request == nil {
		return nil, errors.New("admission review: no request")
	}
	if r.Request.UID == "" {
		return nil, errors.New("admission review: request without a uid")
	}
	return &r, nil
}

// Container is one image reference of a workload.
type Container struct {
	Name  string `json:"name"`
	Image string `json:"image"`
	// Kind is container, initContainer or ephemeralContainer.
	Kind string `json:"kind"`
}

type container struct {
	Name  string `json:"name"`
	Image string `json:"image"`
}

type podSpec struct {
	Containers          []container `json:"containers"`
	InitContainers      []container `json:"initContainers"`
	EphemeralContainers []container `json:"ephemeralContainers"`
}

type podTemplate struct {
	Spec podSpec `json:"spec"`
}

// workload holds the pod spec of every kind this package reads: a Pod's
// spec, a controller's spec.template.spec, a CronJob's
// spec.jobTemplate.spec.template.spec.
type workload struct {
	Spec struct {
		podSpec
		Template    podTemplate `json:"template"`
		JobTemplate struct {
			Spec struct {
				Template podTemplate `json:"template"`
			} `json:"spec"`
		} `json:"jobTemplate"`
	} `json:"spec"`
}

// Kinds whose pod template this package reads.
var templated = map[string]bool{
	"Deployment": true, "StatefulSet": true, "DaemonSet": true, "ReplicaSet": true,
	"Job": true, "ReplicationController": true,
}

// Supported reports whether kind carries container images this package
// reads.
func Supported(kind string) bool { return kind == "Pod" || kind == "CronJob" || templated[kind] }

// Images lists the container images of the request's object, in spec
// order, each image once (with the first container that uses it). It
// returns nil for kinds without containers.
func Images(req *Request) ([]Container, error) {
	if !Supported(req.Kind.Kind) || len(req.Object) == 0 {
		return nil, nil
	}
	var w workload
	if err := json.Unmarshal(req.Object, &w); err != nil {
		return nil, fmt.Errorf("%s %s/%s: %w", req.Kind.Kind, req.Namespace, req.Name, err)
	}
	var spec podSpec
	switch {
	case req.Kind.Kind == "Pod":
		spec = w.Spec.podSpec
	case req.Kind.Kind == "CronJob":
		spec = w.Spec.JobTemplate.Spec.Template.Spec
	default:
		spec = w.Spec.Template.Spec
	}
	var out []Container
	seen := map[string]bool{}
	add := func(cs []container, kind string) error {
		for _, c := range cs {
			img := strings.TrimSpace(c.Image)
			if img == "" {
				return fmt.Errorf("%s %s/%s: %s %q has no image", req.Kind.Kind, req.Namespace, req.Name, kind, c.Name)
			}
			if seen[img] {
				continue
			}
			seen[img] = true
			out = append(out, Container{Name: c.Name, Image: img, Kind: kind})
		}
		return nil
	}
	if err := add(spec.InitContainers, "initContainer"); err != nil {
		return nil, err
	}
	if err := add(spec.Containers, "container"); err != nil {
		return nil, err
	}
	if err := add(spec.EphemeralContainers, "ephemeralContainer"); err != nil {
		return nil, err
	}
	return out, nil
}
