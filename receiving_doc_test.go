package webhooks_test

import (
	"encoding/base64"
	"encoding/json"
	"go/parser"
	"go/token"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/webhookkit/webhooks"
)

// The Node.js and Python verification snippets of docs/receiving.md run
// against requests the library signed, so the guide cannot drift from the
// schemes. Each snippet is a fenced block whose first line is
// "// receiving: <name>" or "# receiving: <name>".

// docSnippets returns the marked code blocks of docs/receiving.md by name.
func docSnippets(t *testing.T) map[string]string {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join("docs", "receiving.md"))
	require.NoError(t, err)
	re := regexp.MustCompile("(?s)```[a-z]+\n((?://|#) receiving: ([a-z-]+)\n.*?)```")
	out := map[string]string{}
	for _, m := range re.FindAllStringSubmatch(string(doc), -1) {
		out[m[2]] = m[1]
	}
	return out
}

// signedCase is one request for a snippet, with the verdict it must give.
type signedCase struct {
	What    string            `json:"what"`
	Body    string            `json:"body"` // base64 of the raw body
	Headers map[string]string `json:"headers"`
	Secret  string            `json:"secret"`
	Want    bool              `json:"want"`
}

func lowerHeaders(h http.Header) map[string]string {
	out := map[string]string{}
	for k := range h {
		out[strings.ToLower(k)] = h.Get(k)
	}
	return out
}

// realDeliveries runs a dispatcher delivering one event to an HMAC webhook
// and a Standard Webhooks one, and returns what each received.
func realDeliveries(t *testing.T) (hmacReq, stdReq received, hmacSecret, stdSecret string) {
	rc := newReceiver(t, nil)
	d := newTestDispatcher(t, webhooks.Config{Scheme: webhooks.HMACScheme{Prefix: "X-Tengine-"}})
	hmacSecret = "your-webhook-secret"
	hook(t, d, "", rc.URL+"/hmac", webhooks.WebhookInput{Secret: &hmacSecret})
	std := hook(t, d, "", rc.URL+"/standard", webhooks.WebhookInput{SignatureScheme: webhooks.Ptr(webhooks.SchemeStandardWebhooks)})
	stdSecret = std.Secret
	start(t, d)
	// Bytes a re-serialising receiver would get wrong: a float, HTML
	// characters, non-ASCII text.
	require.NoError(t, d.Emit(t.Context(), webhooks.Event{ID: "evt_doc_1", Type: "inspection.created",
		Data: webhooks.EventData{ID: 9, Type: "Inspection", Attributes: map[string]any{"score": 1.5, "note": "<b>Ünïcode</b> & more"}}}))
	waitFor(t, "two deliveries", func() bool { return rc.count() == 2 })
	for i := range 2 {
		r := rc.get(i)
		if r.header.Get("X-Tengine-Signature") != "" {
			hmacReq = r
		} else {
			stdReq = r
		}
	}
	require.NotEmpty(t, hmacReq.body)
	require.NotEmpty(t, stdReq.header.Get(webhooks.HeaderWebhookSignature))
	return hmacReq, stdReq, hmacSecret, stdSecret
}

func snippetCases(t *testing.T) (hmacCases, stdCases []signedCase) {
	hr, sr, hs, ss := realDeliveries(t)
	b64 := base64.StdEncoding.EncodeToString
	tampered := func(b []byte) string { return b64(append(append([]byte{}, b...), ' ')) }
	hmacCases = []signedCase{
		{"delivered request", b64(hr.body), lowerHeaders(hr.header), hs, true},
		{"tampered body", tampered(hr.body), lowerHeaders(hr.header), hs, false},
		{"wrong secret", b64(hr.body), lowerHeaders(hr.header), hs + "x", false},
		{"no signature", b64(hr.body), map[string]string{}, hs, false},
	}
	resign := func(secret string, at time.Time) map[string]string {
		h := http.Header{}
		webhooks.StandardScheme{}.Sign(h, &webhooks.Message{EventID: "evt_doc_1", Timestamp: at, Body: sr.body}, []string{secret})
		return lowerHeaders(h)
	}
	rotated := lowerHeaders(sr.header)
	rotated["webhook-signature"] = resign(webhooks.NewSecret(), time.Now())["webhook-signature"] + " " + rotated["webhook-signature"]
	stdCases = []signedCase{
		{"delivered request", b64(sr.body), lowerHeaders(sr.header), ss, true},
		{"tampered body", tampered(sr.body), lowerHeaders(sr.header), ss, false},
		{"wrong secret", b64(sr.body), lowerHeaders(sr.header), webhooks.NewSecret(), false},
		{"stale timestamp", b64(sr.body), resign(ss, time.Now().Add(-10*time.Minute)), ss, false},
		{"future timestamp", b64(sr.body), resign(ss, time.Now().Add(10*time.Minute)), ss, false},
		{"user-supplied secret without whsec_", b64(sr.body), resign("plain-user-secret-123", time.Now()), "plain-user-secret-123", true},
		{"two signatures during a rotation", b64(sr.body), rotated, ss, true},
	}
	return hmacCases, stdCases
}

// interpreter finds node or python3; a missing one skips, or fails when
// WEBHOOKS_REQUIRE_SERVICES=1 (CI).
func interpreter(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("WEBHOOKS_REQUIRE_SERVICES") == "1" {
			t.Fatalf("%s is required to test docs/receiving.md (WEBHOOKS_REQUIRE_SERVICES=1): %v", name, err)
		}
		t.Skipf("%s not installed", name)
	}
	return path
}

func TestReceivingGuideSnippets(t *testing.T) {
	snippets := docSnippets(t)
	for _, name := range []string{"go-verifier", "node-hmac", "node-standard", "python-hmac", "python-standard"} {
		require.Contains(t, snippets, name, "docs/receiving.md lost the %s block", name)
	}
	hmacCases, stdCases := snippetCases(t)
	drivers := []struct {
		snippet, interp, file, driver string
		cases                         []signedCase
	}{
		{"node-hmac", "node", "check.js", `
const cases = JSON.parse(require('fs').readFileSync(process.argv[2], 'utf8'));
console.log(JSON.stringify(cases.map((c) => verifyHMAC(Buffer.from(c.body, 'base64'), c.headers['x-tengine-signature'], c.secret))));
`, hmacCases},
		{"node-standard", "node", "check.js", `
const cases = JSON.parse(require('fs').readFileSync(process.argv[2], 'utf8'));
console.log(JSON.stringify(cases.map((c) => verifyStandard(Buffer.from(c.body, 'base64'), c.headers, c.secret))));
`, stdCases},
		{"python-hmac", "python3", "check.py", `
import json, sys
cases = json.load(open(sys.argv[1]))
print(json.dumps([verify_hmac(base64.b64decode(c["body"]), c["headers"].get("x-tengine-signature"), c["secret"]) for c in cases]))
`, hmacCases},
		{"python-standard", "python3", "check.py", `
import json, sys
cases = json.load(open(sys.argv[1]))
print(json.dumps([verify_standard(base64.b64decode(c["body"]), c["headers"], c["secret"]) for c in cases]))
`, stdCases},
	}
	t.Run("go-verifier", func(t *testing.T) {
		// The Go block is statements; it must at least parse as a function body.
		src := "package p\nfunc f() {\n" + snippets["go-verifier"] + "\n}\n"
		_, err := parser.ParseFile(token.NewFileSet(), "receiving.go", src, 0)
		require.NoError(t, err)
	})
	for _, dr := range drivers {
		t.Run(dr.snippet, func(t *testing.T) {
			bin := interpreter(t, dr.interp)
			dir := t.TempDir()
			code := dr.driver
			if dr.interp == "python3" {
				code = "\nimport base64\n" + code
			}
			script := filepath.Join(dir, dr.file)
			require.NoError(t, os.WriteFile(script, []byte(snippets[dr.snippet]+code), 0o600))
			casesJSON, err := json.Marshal(dr.cases)
			require.NoError(t, err)
			casesFile := filepath.Join(dir, "cases.json")
			require.NoError(t, os.WriteFile(casesFile, casesJSON, 0o600))
			out, err := exec.Command(bin, script, casesFile).CombinedOutput()
			require.NoError(t, err, "%s", out)
			var got []bool
			require.NoError(t, json.Unmarshal(out, &got), "%s", out)
			require.Len(t, got, len(dr.cases))
			for i, c := range dr.cases {
				require.Equal(t, c.Want, got[i], "%s: %s", dr.snippet, c.What)
			}
		})
	}
}
