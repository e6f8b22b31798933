package bridge_test

import (
	"bytes"
	"os"
	"testing"

	"github.com/edgeplane/edgeplane/bridge"
	"github.com/edgeplane/edgeplane/internal/backplane/memory"
	"github.com/edgeplane/edgeplane/internal/config"
)

// FuzzParseConfig: no config text panics the loader; every problem is a
// config error with a position; what loads gives a bridge that New
// accepts.
func FuzzParseConfig(f *testing.F) {
	example, err := os.ReadFile("../configs/bridge.hcl")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(example)
	for _, s := range []string{
		``,
		"region = \"eu\"\nbackplane {\n  addrs = [\"r:6379\"]\n}\nmqtt {\n  urls = [\"mqtt://b:1883\"]\n}\nexport \"all\" {}\n",
		"region = \"eu\"\nbackplane {\n  addrs = []\n}\nmqtt {\n  urls = [\"ftp://b\"]\n  in_flight = 0\n}\nimport \"t\" {\n  topic = \"tele/<device>/SENSOR\"\n  payload = \"json\"\n  field \"t\" { path = \"A.B\" }\n}\n",
		"region = \"eu/us\"\nexport \"x\" {\n  channels = [\"dev/[\"]\n}\n",
	} {
		f.Add([]byte(s))
	}
	bp, err := memory.New(nil)
	if err != nil {
		f.Fatal(err)
	}
	defer bp.Close()
	f.Fuzz(func(t *testing.T, src []byte) {
		// file() and the certificate paths read files named by the input
		// (a fuzzer soon finds /dev/zero); config files are the operator's,
		// so that is not a hostile input to defend against here.
		if bytes.Contains(src, []byte("file")) || bytes.Contains(src, []byte("tls")) {
			t.Skip()
		}
		c, err := bridge.ParseConfig("fuzz.hcl", src)
		if err != nil {
			if !config.IsError(err) {
				t.Fatalf("not a config error: %v", err)
			}
			return
		}
		if _, err := bridge.New(bp, c, nil); err != nil {
			t.Fatalf("loaded but New failed: %v", err)
		}
		_ = c.Applied()
	})
}
