package host

import "testing"

// A verb the server lacks is answered by the fallback, and the Status says
// which verb answered; a verb the server has says nothing of the kind, and
// neither does an unknown verb with no fallback to answer it.
func TestStatusNamesTheFallback(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		_, addr := startServer(t, backend, nil)
		c := dialRaw(t, addr).hello()
		r := c.request("rm", []string{"x"}, nil, nil)
		if string(r.body) != "RM X\n" || !r.status.OK() || r.status.Fallback != "upper" {
			t.Fatalf("routed verb: %+v", r)
		}
		r = c.request("upper", []string{"x"}, nil, nil)
		if string(r.body) != "X\n" || !r.status.OK() || r.status.Fallback != "" {
			t.Fatalf("served verb: %+v", r)
		}
		// A fallback that fails still says it was the one that answered.
		_, addr = startServer(t, backend, func(s *Server) { s.Fallback = "fail" })
		r = dialRaw(t, addr).hello().request("rm", []string{"x"}, map[string]any{"code": "not_found"}, nil)
		if r.status.Code != "not_found" || r.status.Fallback != "fail" {
			t.Fatalf("failing fallback: %+v", r)
		}
		_, addr = startServer(t, backend, func(s *Server) { s.Fallback = "" })
		r = dialRaw(t, addr).hello().request("rm", nil, nil, nil)
		if r.status.Code != "unknown_verb" || r.status.Fallback != "" {
			t.Fatalf("no fallback: %+v", r)
		}
	})
}
