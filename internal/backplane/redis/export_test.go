package redis

import "testing"

// PublishLua is the publish script, for tests that store a publication
// without notifying anyone (a lost notification).
var PublishLua = publishLua

// Prefix is the key prefix in use.
func (b *Broker) Prefix() string { return b.o.Prefix }

// ShardAddrFunc returns which server a Broker on addrs picks per channel.
func ShardAddrFunc(t testing.TB, addrs []string) func(ch string) string {
	b, err := New(&Options{Addrs: addrs})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return func(ch string) string { return b.shardFor(ch).addr }
}
