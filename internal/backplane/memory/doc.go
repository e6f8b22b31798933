// Package memory is the single-node backplane: channels, history and
// presence kept in the process, no Redis needed. It is hubd's backplane in
// single-node mode and the fake that hubd's unit tests run against; it
// passes the same conformance suite (backplanetest) as the Redis backplane.
//
// Start with New and Broker.Run. Delivery is pull based: Publish only
// stores and marks the channel, and Run's goroutine reads what the handler
// has not seen from the history, so a slow Handler never blocks Publish.
// A handler that falls behind by more than Options.HistorySize publications
// of a channel gets HandleReset with the unchanged epoch (see Broker.Run).
//
// Nothing survives the process: a new Broker gives every channel a new
// epoch, which hubd turns into reset messages for dashboards that recover.
package memory
