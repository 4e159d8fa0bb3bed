package admin_test

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// Filters go through create, read, update and clear, in the OpenAPI shape;
// a bad path or operator is a 422 naming it.
func TestWebhookFiltersThroughTheAPI(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t, http.StatusOK)

	body := hook(rc.URL, 1)
	body["filters"] = map[string]any{"data.attributes.status": map[string]any{"$in": []string{"FAILED", "ERROR"}}}
	r := e.do(t, acmeAdmin, "POST", "", body)
	require.Equal(t, http.StatusCreated, r.status, "%s", r.raw)
	id := r.id()
	require.Equal(t, map[string]any{"data.attributes.status": map[string]any{"$in": []any{"FAILED", "ERROR"}}}, r.data()["filters"])

	r = e.do(t, acmeAdmin, "GET", "/"+strconv.FormatInt(id, 10), nil)
	require.Equal(t, http.StatusOK, r.status)
	require.NotNil(t, r.data()["filters"])

	r = e.do(t, acmeAdmin, "PUT", "/"+strconv.FormatInt(id, 10), `{"filters": {"$or": [{"company.id": 1}, {"data.type": {"$like": "x"}}]}}`)
	require.Equal(t, http.StatusUnprocessableEntity, r.status, "%s", r.raw)
	require.Contains(t, r.errFields()["filters.$or[1].data.type.$like"], `unknown operator "$like"`)

	r = e.do(t, acmeAdmin, "PUT", "/"+strconv.FormatInt(id, 10), `{"filters": {"data.attributes.score": {"$gte": 50}}}`)
	require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
	require.Equal(t, map[string]any{"data.attributes.score": map[string]any{"$gte": float64(50)}}, r.data()["filters"])

	r = e.do(t, acmeAdmin, "PUT", "/"+strconv.FormatInt(id, 10), `{"name": "renamed"}`)
	require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
	require.NotNil(t, r.data()["filters"], "an update without filters keeps them")

	r = e.do(t, acmeAdmin, "PUT", "/"+strconv.FormatInt(id, 10), `{"filters": null}`)
	require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
	require.Nil(t, r.data()["filters"])

	r = e.do(t, acmeAdmin, "POST", "", `{"name": "x", "url": "`+rc.URL+`", "filters": ["not", "an", "object"]}`)
	require.Equal(t, http.StatusUnprocessableEntity, r.status, "%s", r.raw)
	require.Contains(t, r.errFields()["filters"], "JSON object")
}
