package bridge

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/fxamacker/cbor/v2"

	"github.com/edgeplane/edgeplane/internal/backplane"
	"github.com/edgeplane/edgeplane/internal/frame"
	"github.com/edgeplane/edgeplane/internal/version"
)

// importSpec is an ImportConfig with its pattern and paths parsed.
type importSpec struct {
	cfg     *ImportConfig
	pat     pattern
	metaPat *pattern // cbor: the exporting bridge's retained device metadata, <topic>/$meta
	origin  string   // of messages without the origin property
	fields  []fieldSpec
}

type fieldSpec struct {
	info frame.SensorInfo
	path []string
	res  float64
}

func newImportSpec(c *ImportConfig, region string) (*importSpec, error) {
	p, err := parsePattern(c.Topic)
	if err != nil {
		return nil, err
	}
	s := &importSpec{cfg: c, pat: p, origin: c.Origin}
	if s.origin == "" {
		s.origin = region
	}
	if c.Payload == PayloadCBOR && !p.has("#") {
		mp, err := parsePattern(c.Topic + "/$meta")
		if err != nil {
			return nil, err
		}
		s.metaPat = &mp
	}
	for _, f := range c.Fields {
		s.fields = append(s.fields, fieldSpec{
			info: frame.SensorInfo{ID: f.Sensor, Kind: f.Kind, Unit: f.Unit, Resolution: f.Resolution},
			path: strings.Split(f.Path, "."),
			res:  f.Resolution,
		})
	}
	return s, nil
}

func (s *importSpec) filters() []string {
	fs := []string{s.pat.filter()}
	if s.metaPat != nil {
		fs = append(fs, s.metaPat.filter())
	}
	for i, f := range fs {
		if s.cfg.ShareGroup != "" {
			fs[i] = "$share/" + s.cfg.ShareGroup + "/" + f
		}
	}
	return fs
}

// importState is what imports remember per device.
type importState struct {
	mu      sync.Mutex // guards devices
	devices map[string]*importedDevice
}

type importedDevice struct {
	spoolID   string // third-party devices: made by this bridge process
	seq       uint64 // last seq given to a third-party frame
	origin    string
	sensors   []frame.SensorInfo
	meta      *deviceMeta // the exporting bridge's metadata, when it sent one
	announced time.Time
}

// onPublish handles one received message. It acknowledges it (PUBACK) only
// once it is stored in the backplane or dropped for good; a message not
// stored when the bridge stops or the connection ends is not acknowledged,
// and the broker sends it again in the next connection of the session.
func (b *Bridge) onPublish(pr paho.PublishReceived) {
	b.m.in.Inc()
	b.mu.Lock()
	ctx := b.groupCtx
	b.mu.Unlock()
	if ctx == nil {
		return
	}
	// Retries give up when the bridge stops or when this connection's
	// client shuts down: it cannot acknowledge any more, and the broker
	// sends the message again on the next connection.
	if b.importMessage(retryCtx{ctx, pr.Client.Done()}, pr.Packet) {
		_ = pr.Client.Ack(pr.Packet)
	}
}

// retryCtx is the context of one received message and the done channel of
// the client it came through.
type retryCtx struct {
	context.Context
	clientDone <-chan struct{}
}

// wait sleeps before retry attempt n; false when the bridge stops or the
// client is gone.
func (r retryCtx) wait(n int) bool {
	t := time.NewTimer(backoff(50*time.Millisecond, 2*time.Second)(n))
	defer t.Stop()
	select {
	case <-r.Done():
		return false
	case <-r.clientDone:
		return false
	case <-t.C:
		return true
	}
}

// importMessage stores or drops one message; false means "not handled,
// do not acknowledge".
func (b *Bridge) importMessage(ctx retryCtx, p *paho.Publish) bool {
	var spec *importSpec
	var tf topicFields
	isMeta := false
	for _, s := range b.imports {
		if f, ok := s.pat.match(p.Topic); ok {
			spec, tf = s, f
			break
		}
		if s.metaPat != nil {
			if _, ok := s.metaPat.match(p.Topic); ok {
				spec, isMeta = s, true
				break
			}
		}
	}
	if spec == nil {
		b.m.dropped[dropNoMapping].Inc()
		return true
	}
	origin := ""
	if p.Properties != nil {
		origin = p.Properties.User.Get(OriginProperty)
	}
	if origin == b.cfg.Region {
		// Our own export came back (another link, or a second bridge of
		// this region): the frames are already here.
		b.m.dropped[dropOwnOrigin].Inc()
		return true
	}
	if origin == "" || !frame.ValidDeviceID(origin) {
		origin = spec.origin
	}
	if isMeta {
		return b.importMeta(ctx, spec, origin, p.Payload)
	}
	if spec.cfg.Payload == PayloadCBOR {
		return b.importCBOR(ctx, spec, origin, p.Payload)
	}
	device := spec.cfg.Device
	if device == "" {
		device = spec.cfg.DevicePrefix + tf.device
	}
	if !frame.ValidDeviceID(device) {
		b.m.dropped[dropBadDevice].Inc()
		return true
	}
	samples, sensors, err := spec.readings(tf, p.Payload)
	if err != nil || len(samples) == 0 {
		b.m.dropped[dropBadPayload].Inc()
		b.log.Debug("payload does not fit the import", "import", spec.cfg.Name, "topic", p.Topic, "error", err)
		return true
	}
	d, err := b.announce(ctx, spec, device, origin, sensors)
	if err != nil {
		return false
	}
	b.imp.mu.Lock()
	d.seq++
	st := &frame.Stored{Device: device, SpoolID: d.spoolID, Seq: d.seq, T0: time.Now().UnixNano(), Samples: samples}
	b.imp.mu.Unlock()
	data, err := frame.AppendStored(nil, st)
	if err != nil {
		b.m.dropped[dropBadPayload].Inc()
		return true
	}
	return b.store(ctx, device, data, st.SpoolID, st.Seq)
}

// importCBOR stores the edgeplane frames of a cbor message (one stored
// frame, or several back to back as a cbor export sends them). They keep
// device id, spool id and seq, so a frame that arrives twice — resent after
// an outage, or imported by two bridges — is stored once.
func (b *Bridge) importCBOR(ctx retryCtx, spec *importSpec, origin string, payload []byte) bool {
	items, err := splitCBOR(payload)
	if err != nil {
		b.m.dropped[dropBadPayload].Inc()
		// The items before the malformed one are still imported.
	}
	// Consecutive frames of one device are stored with one PublishBatch
	// (an export sends a channel's frames together).
	var run []backplane.Message
	runDevice := ""
	flush := func() bool {
		if len(run) == 0 {
			return true
		}
		ok := b.storeBatch(ctx, runDevice, run)
		run = run[:0]
		return ok
	}
	for _, raw := range items {
		st, err := frame.DecodeStored(raw)
		if err != nil {
			b.m.dropped[dropBadPayload].Inc()
			continue
		}
		if !frame.ValidDeviceID(st.Device) {
			b.m.dropped[dropBadDevice].Inc()
			continue
		}
		var sensors []frame.SensorInfo
		for _, s := range st.Samples {
			sensors = append(sensors, frame.SensorInfo{ID: s.Sensor})
		}
		if st.Device != runDevice {
			if !flush() {
				return false
			}
			runDevice = st.Device
		}
		// Before the device's frames are stored, as store requires.
		if _, err := b.announce(ctx, spec, st.Device, origin, sensors); err != nil {
			return false
		}
		run = append(run, backplane.Message{Data: raw, Opts: backplane.PublishOptions{SpoolID: st.SpoolID, Seq: st.Seq}})
	}
	return flush()
}

// splitCBOR splits an RFC 8742 CBOR sequence into its items. On a
// malformed item it returns the items before it and the error.
func splitCBOR(b []byte) ([][]byte, error) {
	// The limits of frame's own decoders.
	dm, err := cbor.DecOptions{MaxNestedLevels: 16, MaxArrayElements: 65536, MaxMapPairs: 1024}.DecMode()
	if err != nil {
		return nil, err
	}
	dec := dm.NewDecoder(bytes.NewReader(b))
	var items [][]byte
	for {
		var raw cbor.RawMessage
		if err := dec.Decode(&raw); err != nil {
			if errors.Is(err, io.EOF) {
				return items, nil
			}
			return items, fmt.Errorf("bridge: cbor item %d: %w", len(items)+1, err)
		}
		items = append(items, raw)
	}
}

// store publishes one frame on dev/<device> (see storeBatch).
func (b *Bridge) store(ctx retryCtx, device string, data []byte, spoolID string, seq uint64) bool {
	return b.storeBatch(ctx, device, []backplane.Message{{Data: data, Opts: backplane.PublishOptions{SpoolID: spoolID, Seq: seq}}})
}

// storeBatch publishes frames of one device on dev/<device>, in order,
// retrying what is not stored while the backplane is unavailable; false
// when ctx ended first.
func (b *Bridge) storeBatch(ctx retryCtx, device string, msgs []backplane.Message) bool {
	ch := frame.DeviceChannel(device)
	for attempt := 0; ; attempt++ {
		res, err := b.bp.PublishBatch(ctx, ch, msgs)
		for _, r := range res {
			if r.Duplicate {
				b.m.dropped[dropDuplicate].Inc()
			} else {
				b.m.frames.Inc()
			}
		}
		msgs = msgs[len(res):]
		if err == nil {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		if attempt%50 == 0 {
			b.log.Warn("cannot store an imported frame; retrying", "device", device, "error", err)
		}
		if !ctx.wait(attempt + 1) {
			return false
		}
	}
}

// announce records an imported device in presence before its first frame
// is stored (so that exports of this region know it is not theirs), and
// again when its sensors change or a third of presence_ttl has passed: a
// device whose messages stop goes offline when its entry expires.
func (b *Bridge) announce(ctx retryCtx, spec *importSpec, id, origin string, sensors []frame.SensorInfo) (*importedDevice, error) {
	return b.announceMeta(ctx, spec, id, origin, sensors, nil)
}

// announceMeta is announce with the exporting bridge's metadata of the
// device (nil when none came with this message): its sensors, labels,
// agent version and online state replace what frames alone tell.
func (b *Bridge) announceMeta(ctx retryCtx, spec *importSpec, id, origin string, sensors []frame.SensorInfo, meta *deviceMeta) (*importedDevice, error) {
	now := time.Now()
	b.imp.mu.Lock()
	d := b.imp.devices[id]
	if d == nil {
		var rnd [8]byte
		_, _ = rand.Read(rnd[:])
		d = &importedDevice{spoolID: "bridge-" + hex.EncodeToString(rnd[:])}
		b.imp.devices[id] = d
	}
	changed := d.origin != origin
	d.origin = origin
	if meta != nil {
		d.meta = meta
		d.sensors = slices.Clone(meta.Sensors)
		changed = true
	}
	for _, s := range sensors {
		i := slices.IndexFunc(d.sensors, func(x frame.SensorInfo) bool { return x.ID == s.ID })
		switch {
		case i < 0:
			d.sensors = append(d.sensors, s)
			changed = true
		case d.sensors[i] != s && (s.Kind != "" || s.Unit != "" || s.Resolution != 0):
			d.sensors[i] = s
			changed = true
		}
	}
	if !changed && now.Sub(d.announced) < b.cfg.presenceTTL/3 {
		b.imp.mu.Unlock()
		return d, nil
	}
	labels := map[string]string{}
	agentVersion := "edgeplane-bridge " + version.Get().Version
	online := true
	if d.meta != nil {
		maps.Copy(labels, d.meta.Labels)
		if d.meta.AgentVersion != "" {
			agentVersion = d.meta.AgentVersion
		}
		// Metadata alone says whether the device is online in its region;
		// a frame says it is.
		online = meta == nil || meta.Online
	}
	maps.Copy(labels, spec.cfg.Labels)
	labels[LabelOrigin] = origin
	st := backplane.DeviceState{
		ID: id, Online: online, Hub: b.cfg.ID, Region: origin, Labels: labels,
		Sensors: slices.Clone(d.sensors), AgentVersion: agentVersion,
		LastSeen: now,
	}
	b.imp.mu.Unlock()
	for attempt := 0; ; attempt++ {
		err := b.bp.SetDevice(ctx, st, b.cfg.presenceTTL)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return nil, err
		}
		if attempt%50 == 0 {
			b.log.Warn("cannot announce an imported device; retrying", "device", id, "error", err)
		}
		if !ctx.wait(attempt + 1) {
			return nil, fmt.Errorf("bridge: announce %s: %w", id, err)
		}
	}
	b.imp.mu.Lock()
	d.announced = now
	b.imp.mu.Unlock()
	return d, nil
}

// readings extracts the samples of a third-party message.
func (s *importSpec) readings(tf topicFields, payload []byte) ([]frame.Sample, []frame.SensorInfo, error) {
	if s.cfg.Payload == PayloadValue {
		v, err := parseValue(string(payload), s.cfg.Resolution)
		if err != nil {
			return nil, nil, err
		}
		info := s.single(tf)
		return []frame.Sample{{Sensor: info.ID, Value: v}}, []frame.SensorInfo{info}, nil
	}
	var doc any
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return nil, nil, fmt.Errorf("not JSON: %w", err)
	}
	if len(s.fields) == 0 {
		info := s.single(tf)
		v, err := jsonValue(lookup(doc, strings.Split(s.cfg.Path, ".")), s.cfg.Resolution)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", s.cfg.Path, err)
		}
		return []frame.Sample{{Sensor: info.ID, Value: v}}, []frame.SensorInfo{info}, nil
	}
	var samples []frame.Sample
	var infos []frame.SensorInfo
	for _, f := range s.fields {
		x := lookup(doc, f.path)
		if x == nil {
			continue // a field this message does not carry
		}
		v, err := jsonValue(x, f.res)
		if err != nil {
			continue
		}
		samples = append(samples, frame.Sample{Sensor: f.info.ID, Value: v})
		infos = append(infos, f.info)
	}
	return samples, infos, nil
}

func (s *importSpec) single(tf topicFields) frame.SensorInfo {
	id := s.cfg.Sensor
	if id == "" {
		id = tf.sensor
	}
	return frame.SensorInfo{ID: id, Kind: s.cfg.Kind, Unit: s.cfg.Unit, Resolution: s.cfg.Resolution}
}

// lookup follows a dotted path ("BME280.Temperature") through JSON objects;
// an all-digit element indexes an array. nil when absent.
func lookup(doc any, path []string) any {
	for _, p := range path {
		switch x := doc.(type) {
		case map[string]any:
			doc = x[p]
		case []any:
			i, err := strconv.Atoi(p)
			if err != nil || i < 0 || i >= len(x) {
				return nil
			}
			doc = x[i]
		default:
			return nil
		}
	}
	return doc
}

func jsonValue(x any, res float64) (frame.Value, error) {
	switch v := x.(type) {
	case json.Number:
		return parseValue(v.String(), res)
	case bool:
		return frame.Bool(v), nil
	case string:
		return parseValue(v, res)
	case nil:
		return frame.Value{}, errors.New("no such field")
	}
	return frame.Value{}, fmt.Errorf("%T is not a reading", x)
}

// parseValue reads a bare reading: a number, or true/false/on/off
// (Tasmota's POWER state).
func parseValue(s string, res float64) (frame.Value, error) {
	s = strings.TrimSpace(s)
	switch strings.ToLower(s) {
	case "true", "on":
		return frame.Bool(true), nil
	case "false", "off":
		return frame.Bool(false), nil
	}
	if i, err := strconv.ParseInt(s, 10, 64); err == nil && res == 0 {
		return frame.Int(i), nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return frame.Value{}, fmt.Errorf("%q is not a number", s)
	}
	return frame.Rounded(f, res), nil
}

// importMeta takes a device's retained metadata, as a cbor export publishes
// it beside the frames, into presence: the device is listed with its real
// sensors (kinds, units, resolutions) and labels before its first frame.
func (b *Bridge) importMeta(ctx retryCtx, spec *importSpec, origin string, payload []byte) bool {
	var m deviceMeta
	if err := json.Unmarshal(payload, &m); err != nil || !frame.ValidDeviceID(m.ID) {
		b.m.dropped[dropBadPayload].Inc()
		return true
	}
	if m.Region != "" && frame.ValidDeviceID(m.Region) {
		origin = m.Region
	}
	if origin == b.cfg.Region {
		b.m.dropped[dropOwnOrigin].Inc()
		return true
	}
	_, err := b.announceMeta(ctx, spec, m.ID, origin, nil, &m)
	return err == nil
}
