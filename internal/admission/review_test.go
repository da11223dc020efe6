package admission

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestImages(t *testing.T) {
	cases := []struct {
		name, kind, object string
		want               []string
	}{
		{"pod", "Pod", `{"spec":{"initContainers":[{"name":"i","image":"a:1"}],"containers":[{"name":"c","image":"b:1"},{"name":"d","image":"a:1"}],"ephemeralContainers":[{"name":"e","image":"c:1"}]}}`, []string{"a:1", "b:1", "c:1"}},
		{"deployment", "Deployment", `{"spec":{"template":{"spec":{"containers":[{"name":"c","image":"b:1"}]}}}}`, []string{"b:1"}},
		{"cronjob", "CronJob", `{"spec":{"jobTemplate":{"spec":{"template":{"spec":{"containers":[{"name":"c","image":"x@sha256:00"}]}}}}}}`, []string{"x@sha256:00"}},
		{"service", "Service", `{"spec":{"containers":[{"name":"c","image":"b:1"}]}}`, nil},
		{"no object", "Pod", ``, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cs, err := Images(&Request{Kind: GroupVersionKind{Kind: c.kind}, Object: []byte(c.object)})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, x := range cs {
				got = append(got, x.Image)
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("images %v, want %v", got, c.want)
			}
		})
	}
	if _, err := Images(&Request{Kind: GroupVersionKind{Kind: "Pod"}, Object: []byte(`{"spec":{"containers":[{"name":"c"}]}}`)}); err == nil {
		t.Error("a container without an image passed")
	}
}

// FuzzDecodeReview: the request decoder and the image extraction never
// panic on hostile input.
func FuzzDecodeReview(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.json")
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","request":{"uid":"1","kind":{"kind":"CronJob"},"operation":"CREATE","object":{"spec":{"jobTemplate":{"spec":{"template":{"spec":{"containers":[{"name":"c","image":"x"}]}}}}}}}}`))
	f.Add([]byte(`{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","request":{"uid":"1","kind":{"kind":"Pod"},"object":{"spec":{"containers":null}}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeReview(b)
		if err != nil {
			return
		}
		if r.Request == nil || r.Request.UID == "" {
			t.Fatal("accepted a review without a request uid")
		}
		cs, err := Images(r.Request)
		if err != nil {
			return
		}
		for _, c := range cs {
			if c.Image == "" {
				t.Fatal("empty image accepted")
			}
		}
	})
}
