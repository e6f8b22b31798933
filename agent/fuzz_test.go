package agent_test

import (
	"bytes"
	"os"
	"testing"

	"github.com/edgeplane/edgeplane/agent"
)

// FuzzParseConfig: any input either loads or fails with an error; a config
// that loads is accepted by New.
func FuzzParseConfig(f *testing.F) {
	for _, p := range []string{"../configs/agent.hcl", "../configs/agent-demo.hcl"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("device_id = \"pi\"\nhub {\n  url = \"ws://h/v1/agent\"\n}\nsensor \"sim.walk\" \"w\" {\n  min = 5\n  max = 1\n}\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		// file(), token_file, ca_file and the tls block read files named by
		// the input (a fuzzer soon finds /dev/zero); config files are the
		// operator's, so that is not a hostile input to defend against here.
		if bytes.Contains(src, []byte("file")) || bytes.Contains(src, []byte("tls")) {
			t.Skip()
		}
		cfg, err := agent.ParseConfig("fuzz.hcl", src)
		if err != nil {
			return
		}
		if _, err := agent.New(cfg, nil); err != nil {
			t.Fatalf("ParseConfig accepted what New refuses: %v", err)
		}
	})
}
