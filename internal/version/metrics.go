package version

import "github.com/prometheus/client_golang/prometheus"

// Collector returns the edgeplane_build_info gauge of this build: value 1,
// labels version and goversion. Every daemon registers it once.
func Collector() prometheus.Collector {
	v := Get()
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "edgeplane_build_info", Help: "Build of this binary; value 1.",
	}, []string{"version", "goversion"})
	g.WithLabelValues(v.Version, v.GoVersion).Set(1)
	return g
}
