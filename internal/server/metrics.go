package server

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the gateway's Prometheus series, on a registry of its own so
// that several gateways in one test binary do not collide.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	enqueued prometheus.Counter
	finished *prometheus.CounterVec
	refused  *prometheus.CounterVec
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stella_http_requests_total", Help: "API requests by route and status code.",
		}, []string{"method", "route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "stella_http_request_duration_seconds", Help: "API request latency by route.",
			Buckets: prometheus.DefBuckets,
		}, []string{"method", "route"}),
		enqueued: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "stella_scans_enqueued_total", Help: "Scans accepted and queued.",
		}),
		finished: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stella_scans_finished_total", Help: "Scans finished by this process's workers, by state.",
		}, []string{"state"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stella_requests_refused_total", Help: "Requests refused by auth or quota.",
		}, []string{"reason"}),
	}
	m.reg.MustRegister(m.requests, m.duration, m.enqueued, m.finished, m.refused,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

func (m *metrics) observe(method, route string, code int, d time.Duration) {
	m.requests.WithLabelValues(method, route, strconv.Itoa(code)).Inc()
	m.duration.WithLabelValues(method, route).Observe(d.Seconds())
}

func (m *metrics) scanFinished(state string) {
	if m != nil {
		m.finished.WithLabelValues(state).Inc()
	}
}
