package sink

import "github.com/prometheus/client_golang/prometheus"

var (
	descSpoolBytes = prometheus.NewDesc("stella_sink_spool_bytes", "Bytes of results waiting in the sink spool.", nil, nil)
	descSpoolMax   = prometheus.NewDesc("stella_sink_spool_max_bytes", "Limit of the sink spool; results beyond it are refused (stella_sink_spool_full_total).", nil, nil)
	descPending    = prometheus.NewDesc("stella_sink_pending", "Results waiting in the spool for a sink.", nil, nil)
	descFull       = prometheus.NewDesc("stella_sink_spool_full_total", "Results that could not be spooled because the spool was full.", nil, nil)
	descDelivered  = prometheus.NewDesc("stella_sink_delivered_total", "Results a sink took.", []string{"sink"}, nil)
	descFailures   = prometheus.NewDesc("stella_sink_failures_total", "Failed delivery attempts (retried).", []string{"sink"}, nil)
	descRefused    = prometheus.NewDesc("stella_sink_refused_total", "Results a sink refused for good (kept under failed/).", []string{"sink"}, nil)
)

// Collector exports the dispatcher's Stats as Prometheus series; register
// it on the process's registry.
func (d *Dispatcher) Collector() prometheus.Collector { return collector{d} }

type collector struct{ d *Dispatcher }

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descSpoolBytes, descSpoolMax, descPending, descFull, descDelivered, descFailures, descRefused} {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	st := c.d.Stats()
	ch <- prometheus.MustNewConstMetric(descSpoolBytes, prometheus.GaugeValue, float64(st.SpoolBytes))
	ch <- prometheus.MustNewConstMetric(descSpoolMax, prometheus.GaugeValue, float64(st.MaxSpoolBytes))
	ch <- prometheus.MustNewConstMetric(descPending, prometheus.GaugeValue, float64(st.Pending))
	ch <- prometheus.MustNewConstMetric(descFull, prometheus.CounterValue, float64(st.SpoolFull))
	for _, s := range st.Sinks {
		ch <- prometheus.MustNewConstMetric(descDelivered, prometheus.CounterValue, float64(s.Delivered), s.Sink)
		ch <- prometheus.MustNewConstMetric(descFailures, prometheus.CounterValue, float64(s.Failures), s.Sink)
		ch <- prometheus.MustNewConstMetric(descRefused, prometheus.CounterValue, float64(s.Refused), s.Sink)
	}
}
