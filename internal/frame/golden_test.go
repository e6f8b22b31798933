package frame_test

import (
	"bytes"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"

	"github.com/edgeplane/edgeplane/internal/frame"
)

var update = flag.Bool("update", false, "rewrite testdata golden files and the hex examples of docs/PROTOCOL.md")

const protocolDoc = "../../docs/PROTOCOL.md"

// goldenFrame is the FRAME example of PROTOCOL.md: a BME280 sampled three
// times a second apart (a series), a door contact and a counter read once.
func goldenFrame() *frame.Frame {
	return &frame.Frame{Seq: 1234, T0: 1733318400123456000, Samples: []frame.Sample{
		{Sensor: "t", DT: 0, Value: frame.Rounded(20.87, 0.01)},
		{Sensor: "rh", DT: 0, Value: frame.Rounded(45.3, 0.1)},
		{Sensor: "door", DT: 500, Value: frame.Bool(true)},
		{Sensor: "t", DT: 1_000_000, Value: frame.Rounded(20.91, 0.01)},
		{Sensor: "rh", DT: 1_000_000, Value: frame.Rounded(45.4, 0.1)},
		{Sensor: "n", DT: 1_500_000, Value: frame.Int(48213)},
		{Sensor: "t", DT: 2_000_000, Value: frame.Rounded(20.95, 0.01)},
		{Sensor: "rh", DT: 2_000_000, Value: frame.Rounded(45.4, 0.1)},
	}}
}

type golden struct {
	file   string
	encode func() ([]byte, error)
	check  func(t *testing.T, b []byte) // decodes the golden bytes
}

func agentGolden(file string, m frame.Message) golden {
	return golden{file, func() ([]byte, error) { return frame.AppendAgent(nil, m) }, func(t *testing.T, b []byte) {
		ms, err := frame.DecodeAgent(b, nil)
		if err != nil {
			t.Fatal(err)
		}
		checkAgent(t, m, ms[0])
	}}
}

func serverGolden(file string, m frame.ServerMessage, p frame.Proto) golden {
	return golden{file, func() ([]byte, error) { return frame.AppendServer(nil, m, p) }, func(t *testing.T, b []byte) {
		ms, err := frame.DecodeServer(b, p, nil)
		if err != nil {
			t.Fatal(err)
		}
		sameServer(t, m, ms[0])
	}}
}

func goldens() []golden {
	ex := agentMessages()
	dash := &frame.DashFrame{Ch: "dev/pi-7", Off: 58, Device: "pi-7", Seq: 1234, T0: 1733318400123456000,
		Samples: []frame.Sample{{Sensor: "t", DT: 0, Value: frame.Rounded(21.5, 0.01)}, {Sensor: "rh", DT: 0, Value: frame.Rounded(45.3, 0.1)}}}
	sub := frame.ClientMessage{Op: "sub", ID: 1, HasID: true, Ch: "dev/pi-7", Since: &frame.Since{Epoch: "Kx3v", Off: 41}}
	stored := &frame.Stored{Device: "pi-7", SpoolID: "5f2c9a1e", Seq: 1234, T0: 1733318400123456000, Samples: goldenFrame().Samples}
	var devices frame.ServerMessage
	for _, e := range serverExamples {
		if e.name == "devices" {
			devices = e.m
		}
	}
	return []golden{
		agentGolden("agent_hello.hex", &frame.Hello{DeviceID: "pi-7", AgentVersion: "1.2.0",
			Sensors:  []frame.SensorInfo{{ID: "t", Kind: "temperature", Unit: "°C", PeriodMS: 1000, Resolution: 0.01}},
			Labels:   map[string]string{"site": "berlin"},
			FirstSeq: 1201, SpoolID: "5f2c9a1e"}),
		agentGolden("agent_welcome.hex", ex["welcome"]),
		agentGolden("agent_frame.hex", goldenFrame()),
		agentGolden("agent_ack.hex", ex["ack"]),
		agentGolden("agent_command.hex", &frame.Command{ID: "c-17", Name: "gpio.write", Args: map[string]any{"pin": "relay1", "level": true}}),
		agentGolden("agent_result.hex", &frame.Result{ID: "c-17", OK: true, Result: map[string]any{"level": true}}),
		agentGolden("agent_error.hex", &frame.Error{Code: 400, Message: "FRAME before HELLO"}),
		{"stored_frame.hex", func() ([]byte, error) { return frame.AppendStored(nil, stored) }, func(t *testing.T, b []byte) {
			got, err := frame.DecodeStored(b)
			if err != nil {
				t.Fatal(err)
			}
			want := *stored
			want.Samples = append([]frame.Sample{}, stored.Samples...)
			frame.SortSamples(want.Samples)
			if !deepEqual(got, &want) {
				t.Fatalf("got %+v, want %+v", got, &want)
			}
		}},
		serverGolden("dash_frame.json", dash, frame.ProtoJSON),
		serverGolden("dash_frame_cbor.hex", dash, frame.ProtoCBOR),
		serverGolden("dash_devices.json", devices, frame.ProtoJSON),
		serverGolden("dash_devices_cbor.hex", devices, frame.ProtoCBOR),
		{"dash_sub_cbor.hex", func() ([]byte, error) { return frame.AppendClient(nil, &sub, frame.ProtoCBOR) }, func(t *testing.T, b []byte) {
			got, err := frame.DecodeClient(b, frame.ProtoCBOR, nil)
			if err != nil || !deepEqual(got, sub) {
				t.Fatalf("got %+v, %v", got, err)
			}
		}},
	}
}

// formatHex writes b as lowercase hex, 32 bytes a line.
func formatHex(b []byte) string {
	var sb strings.Builder
	for len(b) > 0 {
		n := min(len(b), 32)
		sb.WriteString(hex.EncodeToString(b[:n]))
		sb.WriteByte('\n')
		b = b[n:]
	}
	return sb.String()
}

func parseGolden(t *testing.T, file string, text []byte) []byte {
	t.Helper()
	if strings.HasSuffix(file, ".json") {
		return bytes.TrimSuffix(text, []byte("\n"))
	}
	b, err := hex.DecodeString(strings.Join(strings.Fields(string(text)), ""))
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return b
}

func goldenText(file string, b []byte) string {
	if strings.HasSuffix(file, ".json") {
		return string(b) + "\n"
	}
	return formatHex(b)
}

func TestGolden(t *testing.T) {
	for _, g := range goldens() {
		t.Run(g.file, func(t *testing.T) {
			b, err := g.encode()
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", g.file)
			if *update {
				if err := os.WriteFile(path, []byte(goldenText(g.file, b)), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			text, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./internal/frame -run TestGolden -update)", err)
			}
			want := parseGolden(t, g.file, text)
			if !bytes.Equal(b, want) {
				t.Fatalf("encoding changed:\ngot  %x\nwant %x", b, want)
			}
			g.check(t, want)
		})
	}
}

// goldenBlock is a golden marker in PROTOCOL.md and the fenced block that
// follows it.
var goldenBlock = regexp.MustCompile("(?s)<!-- golden: ([a-z_]+\\.(?:hex|json)) -->\n```[a-z]*\n(.*?)```")

// diagBlock is the CBOR diagnostic notation of a golden vector in PROTOCOL.md.
var diagBlock = regexp.MustCompile("(?s)<!-- diag: ([a-z_]+\\.hex) -->\n```text\n(.*?)```")

func diagnose(t *testing.T, file string) string {
	t.Helper()
	text, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	dm, err := cbor.DiagOptions{FloatPrecisionIndicator: true}.DiagMode()
	if err != nil {
		t.Fatal(err)
	}
	d, err := dm.Diagnose(parseGolden(t, file, text))
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return d + "\n"
}

// TestProtocolDocExamples: the examples of docs/PROTOCOL.md are the golden
// vectors, byte for byte, and their diagnostic notation is that of the bytes.
func TestProtocolDocExamples(t *testing.T) {
	doc, err := os.ReadFile(protocolDoc)
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		doc = diagBlock.ReplaceAllFunc(doc, func(m []byte) []byte {
			file := string(diagBlock.FindSubmatch(m)[1])
			return []byte(fmt.Sprintf("<!-- diag: %s -->\n```text\n%s```", file, diagnose(t, file)))
		})
		doc = goldenBlock.ReplaceAllFunc(doc, func(m []byte) []byte {
			sub := goldenBlock.FindSubmatch(m)
			file := string(sub[1])
			text, err := os.ReadFile(filepath.Join("testdata", file))
			if err != nil {
				t.Fatal(err)
			}
			lang := "hex"
			if strings.HasSuffix(file, ".json") {
				lang = "json"
			}
			return []byte(fmt.Sprintf("<!-- golden: %s -->\n```%s\n%s```", file, lang, text))
		})
		if err := os.WriteFile(protocolDoc, doc, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]bool{}
	for _, m := range goldenBlock.FindAllSubmatch(doc, -1) {
		file := string(m[1])
		seen[file] = true
		text, err := os.ReadFile(filepath.Join("testdata", file))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := parseGolden(t, file, m[2]), parseGolden(t, file, text); !bytes.Equal(got, want) {
			t.Errorf("PROTOCOL.md example %s differs from testdata/%s (run go test ./internal/frame -run 'TestGolden|TestProtocolDocExamples' -update)", file, file)
		}
	}
	for _, m := range diagBlock.FindAllSubmatch(doc, -1) {
		file := string(m[1])
		if got, want := string(m[2]), diagnose(t, file); got != want {
			t.Errorf("PROTOCOL.md diagnostic notation of %s:\ngot  %swant %s", file, got, want)
		}
	}
	for _, k := range []string{"hello", "welcome", "frame", "ack", "command", "result", "error"} {
		if !seen["agent_"+k+".hex"] {
			t.Errorf("PROTOCOL.md has no example of agent_%s.hex", k)
		}
	}
}
