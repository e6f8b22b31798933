package hubd

import (
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"
)

// FuzzHubMessage: whatever another hub sends, handling it does not panic
// and every goroutine it starts ends.
//
//	go test -run '^$' -fuzz FuzzHubMessage ./hubd/
func FuzzHubMessage(f *testing.F) {
	f.Add([]byte(`{"t":"cmd","from":"hub-b","req":"r1","device":"pi-7","name":"gpio.write","args":{"pin":"relay1","level":true},"ms":500}`))
	f.Add([]byte(`{"t":"result","req":"r1","ok":true,"result":{"level":true}}`))
	f.Add([]byte(`{"t":"result","req":"r2","code":408,"error":"command timed out"}`))
	f.Add([]byte(`{"t":"cmd"}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`not json`))
	srv, err := New(&Config{HubID: "hub-a", Limits: &LimitsConfig{CommandTimeout: "10ms"}}, &Options{
		Logger: hclog.NewNullLogger(), Registerer: prometheus.NewRegistry(),
	})
	if err != nil {
		f.Fatal(err)
	}
	if srv.hubRouter == nil {
		f.Fatal("the memory backplane offers Hubs: want the hub router")
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		srv.hubRouter.handle(data)
		srv.hubRouter.wg.Wait()
	})
}
