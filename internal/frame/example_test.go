package frame_test

import (
	"fmt"

	"github.com/edgeplane/edgeplane/internal/frame"
)

// A frame as a JSON dashboard receives it: t0 in milliseconds with µs
// precision, each float printed as the decimal its resolution rounds to.
func ExampleAppendServer() {
	m := &frame.DashFrame{
		Ch:     frame.DeviceChannel("pi-7"),
		Off:    58,
		Device: "pi-7",
		Seq:    1234,
		T0:     1733318400123456000, // unix ns
		Samples: []frame.Sample{
			{Sensor: "t", DT: 0, Value: frame.Rounded(21.4987, 0.01)},
			{Sensor: "rh", DT: 1500, Value: frame.Rounded(45.0, 0.1)},
			{Sensor: "door", DT: 2000, Value: frame.Bool(true)},
			{Sensor: "pulses", DT: 2000, Value: frame.Int(48213)},
		},
	}
	b, err := frame.AppendServer(nil, m, frame.ProtoJSON)
	if err != nil {
		panic(err)
	}
	fmt.Println(string(b))
	// Output:
	// {"op":"frame","ch":"dev/pi-7","off":58,"device":"pi-7","seq":1234,"t0":1733318400123.456,"samples":[["t",0,21.5],["rh",1500,45.0],["door",2000,true],["pulses",2000,48213]]}
}

// A hub reads what an agent sent: one WebSocket message may hold several
// CBOR maps, and errors map to protocol codes in one place.
func ExampleDecodeAgent() {
	var msg []byte
	msg, _ = frame.AppendAgent(msg, &frame.Hello{DeviceID: "pi-7", FirstSeq: 1, SpoolID: "5f2c9a1e"})
	msg, _ = frame.AppendAgent(msg, &frame.Frame{Seq: 1, T0: 1733318400123456000, Samples: []frame.Sample{
		{Sensor: "t", DT: 0, Value: frame.Rounded(20.87, 0.01)},
		{Sensor: "t", DT: 1_000_000, Value: frame.Rounded(20.91, 0.01)},
	}})
	ms, err := frame.DecodeAgent(msg, nil)
	if err != nil {
		code, closeCode := frame.ErrorCode(err)
		fmt.Println("ERROR", code, "then close", closeCode)
		return
	}
	for _, m := range ms {
		switch m := m.(type) {
		case *frame.Hello:
			fmt.Println(m.Kind(), m.DeviceID, m.SpoolID)
		case *frame.Frame:
			for _, s := range m.Samples {
				// The hub knows the resolution from HELLO.
				fmt.Println(m.Kind(), m.Seq, s.Sensor, s.DT, s.Value.WithResolution(0.01).Float64())
			}
		}
	}

	_, err = frame.DecodeAgent([]byte{0xa1, 0x00, 0x03}, nil)
	code, closeCode := frame.ErrorCode(err)
	fmt.Println(err, code, closeCode)
	// Output:
	// HELLO pi-7 5f2c9a1e
	// FRAME 1 t 0 20.87
	// FRAME 1 t 1000000 20.91
	// frame: FRAME: missing required key 1 (seq) 400 1008
}
