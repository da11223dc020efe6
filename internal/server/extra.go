package server

import "net/http"

// extraRoutes are operations mounted from other packages: the admission
// webhook.
func (s *Server) extraRoutes() []route {
	var rs []route
	if s.cfg.Admission != nil {
		rs = append(rs, route{"POST", "/api/admission", "", func(w http.ResponseWriter, r *http.Request, _ *Principal) {
			s.cfg.Admission.ServeHTTP(w, r)
		}})
	}
	return rs
}
