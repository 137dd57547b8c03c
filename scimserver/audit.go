package scimserver

import "net/http"

// auditWrite logs one line per SCIM write on the audit stream: endpoint, token
// id (never the token), operation, resource and id, and the result. Attribute
// values are never logged.
func (s *Server) auditWrite(r *http.Request, req *request, resource, id string, err error) {
	status := http.StatusOK
	switch {
	case err != nil:
		status = translate(libraryError(err)).Status
	case r.Method == http.MethodPost:
		status = http.StatusCreated
	case r.Method == http.MethodDelete:
		status = http.StatusNoContent
	}
	s.audit.Info("scim write",
		"endpoint", req.ep.Key.String(), "token", req.tokenID, "method", r.Method,
		"resource", resource, "id", id, "status", status, "remote", r.RemoteAddr)
}
