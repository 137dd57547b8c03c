package scimserver

import (
	"net/http"

	"github.com/scim-operator/scim-operator/scimserver/schema"
)

// serveDiscovery answers /ServiceProviderConfig, /ResourceTypes and /Schemas
// (RFC 7644 §4) with what this server really supports, the Role resource
// type Okta Identity Governance discovers the catalog by included.
func (s *Server) serveDiscovery(w http.ResponseWriter, req *request) {
	switch req.resource {
	case "ServiceProviderConfig":
		if req.id != "" {
			writeError(w, notFound("ServiceProviderConfig", req.id))
			return
		}
		writeJSON(w, http.StatusOK, s.serviceProviderConfig(req))
	case "ResourceTypes":
		types := []map[string]any{resourceTypeJSON(schema.UserResourceType, req), resourceTypeJSON(schema.GroupResourceType, req),
			resourceTypeJSON(schema.RoleResourceType, req)}
		if req.id != "" {
			for _, t := range types {
				if t["id"] == req.id {
					writeJSON(w, http.StatusOK, t)
					return
				}
			}
			writeError(w, notFound("ResourceType", req.id))
			return
		}
		writeJSON(w, http.StatusOK, listResponse(types, len(types), 1))
	case "Schemas":
		var all []map[string]any
		for _, sc := range schema.All() {
			all = append(all, schemaJSON(sc, req))
		}
		if req.id != "" {
			for _, sc := range all {
				if sc["id"] == req.id {
					writeJSON(w, http.StatusOK, sc)
					return
				}
			}
			writeError(w, notFound("Schema", req.id))
			return
		}
		writeJSON(w, http.StatusOK, listResponse(all, len(all), 1))
	}
}

func (s *Server) serviceProviderConfig(req *request) map[string]any {
	return map[string]any{
		"schemas":          []string{schema.ServiceProviderConfigURN},
		"documentationUri": "https://github.com/scim-operator/scim-operator#readme",
		"patch":            map[string]any{"supported": true},
		"bulk":             map[string]any{"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
		"filter":           map[string]any{"supported": true, "maxResults": req.ep.MaxPageSize},
		"changePassword":   map[string]any{"supported": false},
		"sort":             map[string]any{"supported": true},
		"etag":             map[string]any{"supported": true},
		"authenticationSchemes": []map[string]any{{
			"type":        "oauthbearertoken",
			"name":        "OAuth Bearer Token",
			"description": "Authentication with a bearer token stored in a Kubernetes Secret referenced by the ScimEndpoint.",
			"primary":     true,
		}},
		"meta": map[string]any{
			"resourceType": "ServiceProviderConfig",
			"location":     req.baseURL + "/ServiceProviderConfig",
		},
	}
}

func resourceTypeJSON(rt *schema.ResourceType, req *request) map[string]any {
	exts := []map[string]any{}
	for _, e := range rt.Extensions {
		exts = append(exts, map[string]any{"schema": e.ID, "required": false})
	}
	return map[string]any{
		"schemas":          []string{schema.ResourceTypeURN},
		"id":               rt.Name,
		"name":             rt.Name,
		"endpoint":         rt.Endpoint,
		"description":      rt.Schema.Description,
		"schema":           rt.Schema.ID,
		"schemaExtensions": exts,
		"meta": map[string]any{
			"resourceType": "ResourceType",
			"location":     req.baseURL + "/ResourceTypes/" + rt.Name,
		},
	}
}

func schemaJSON(sc *schema.Schema, req *request) map[string]any {
	return map[string]any{
		"schemas":     []string{schema.SchemaURN},
		"id":          sc.ID,
		"name":        sc.Name,
		"description": sc.Description,
		"attributes":  sc.Attributes,
		"meta": map[string]any{
			"resourceType": "Schema",
			"location":     req.baseURL + "/Schemas/" + sc.ID,
		},
	}
}

// listResponse wraps resources in a ListResponse (RFC 7644 §3.4.2).
func listResponse[T any](resources []T, total, startIndex int) map[string]any {
	if resources == nil {
		resources = []T{}
	}
	return map[string]any{
		"schemas":      []string{schema.ListResponseURN},
		"totalResults": total,
		"startIndex":   startIndex,
		"itemsPerPage": len(resources),
		"Resources":    resources,
	}
}
