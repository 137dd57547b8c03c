package operator

import (
	"strings"
	"testing"
)

func TestTLSFilesValidate(t *testing.T) {
	for _, tc := range []struct {
		reason  string
		files   TLSFiles
		enabled bool
		want    string // part of the error; "" for none
	}{
		{"neither serves plain HTTP", TLSFiles{}, false, ""},
		{"both serve HTTPS", TLSFiles{CertFile: "/tls/tls.crt", KeyFile: "/tls/tls.key"}, true, ""},
		{"a certificate without its key", TLSFiles{CertFile: "/tls/tls.crt"}, true, "--scim-tls-key-file is not"},
		{"a key without its certificate", TLSFiles{KeyFile: "/tls/tls.key"}, true, "--scim-tls-cert-file is not"},
	} {
		t.Run(tc.reason, func(t *testing.T) {
			err := tc.files.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("Validate() = %v, want no error", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("Validate() = %v, want an error naming %q", err, tc.want)
			}
			if got := tc.files.Enabled(); got != tc.enabled {
				t.Errorf("Enabled() = %v, want %v", got, tc.enabled)
			}
		})
	}
}
