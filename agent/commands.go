package agent

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/edgeplane/edgeplane/hw"
	"github.com/edgeplane/edgeplane/internal/frame"
	"github.com/edgeplane/edgeplane/internal/version"
)

// Built-in commands (PROTOCOL.md, "Agent link", COMMAND and RESULT).
const (
	cmdGPIOWrite      = "gpio.write"      // {pin: actuator name, level: bool} -> {pin, level}
	cmdGPIORead       = "gpio.read"       // {pin} -> {pin, level}
	cmdSensorInterval = "sensor.interval" // {sensor, period: "500ms" or ms} -> {sensor, period_ms}
	cmdAgentInfo      = "agent.info"      // {} -> device, version, queue, sensors, actuators
)

func commandNames() []string {
	return []string{cmdAgentInfo, cmdGPIORead, cmdGPIOWrite, cmdSensorInterval}
}

// commandTimeout bounds one command's work on the hardware.
const commandTimeout = 10 * time.Second

// execute runs one command at most once: a command id seen before (a hub
// resending after a reconnect) gets the first execution's result again.
func (a *Agent) execute(ctx context.Context, c *frame.Command) *frame.Result {
	if r, ok := a.results.get(c.ID); ok {
		return r
	}
	ctx, cancel := context.WithTimeout(ctx, commandTimeout)
	defer cancel()
	res, err := a.dispatch(ctx, c)
	r := &frame.Result{ID: c.ID, OK: err == nil, Result: res}
	if err != nil {
		r.Result, r.Error = nil, err.Error()
	}
	name := c.Name
	if !isCommand(name) {
		name = "unknown"
	}
	result := "ok"
	if !r.OK {
		result = "error"
	}
	a.m.commands.WithLabelValues(name, result).Inc()
	a.results.put(c.ID, r)
	return r
}

func isCommand(name string) bool {
	for _, n := range commandNames() {
		if n == name {
			return true
		}
	}
	return false
}

func (a *Agent) dispatch(ctx context.Context, c *frame.Command) (any, error) {
	switch c.Name {
	case cmdGPIOWrite:
		act, err := a.actuator(c.Args)
		if err != nil {
			return nil, err
		}
		v, ok := c.Args["level"]
		if !ok {
			return nil, fmt.Errorf("gpio.write needs args.level (true or false)")
		}
		level, err := parseLevel(v)
		if err != nil {
			return nil, err
		}
		if err := act.Set(ctx, level); err != nil {
			return nil, fmt.Errorf("%s: %w", act.Name(), err)
		}
		got, err := act.Get(ctx)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", act.Name(), err)
		}
		a.reportLevel(ctx, act.Name(), got)
		return map[string]any{"pin": act.Name(), "level": got}, nil
	case cmdGPIORead:
		act, err := a.actuator(c.Args)
		if err != nil {
			return nil, err
		}
		got, err := act.Get(ctx)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", act.Name(), err)
		}
		return map[string]any{"pin": act.Name(), "level": got}, nil
	case cmdSensorInterval:
		return a.sensorInterval(c.Args)
	case cmdAgentInfo:
		return a.info(), nil
	}
	return nil, fmt.Errorf("unknown command %q; this agent knows %s", c.Name, strings.Join(commandNames(), ", "))
}

func (a *Agent) actuator(args map[string]any) (hw.Actuator, error) {
	pin, _ := args["pin"].(string)
	a.mu.Lock()
	defer a.mu.Unlock()
	if act, ok := a.actuators[pin]; ok {
		return act, nil
	}
	var names []string
	for n := range a.actuators {
		names = append(names, n)
	}
	sort.Strings(names)
	if pin == "" {
		return nil, fmt.Errorf("args.pin must name an actuator: one of [%s]", strings.Join(names, ", "))
	}
	return nil, fmt.Errorf("no actuator %q; this agent has [%s]", pin, strings.Join(names, ", "))
}

// parseLevel accepts what dashboards send: a bool, or the numbers 0 and 1.
func parseLevel(v any) (bool, error) {
	switch x := v.(type) {
	case bool:
		return x, nil
	case uint64:
		if x <= 1 {
			return x == 1, nil
		}
	case int64:
		if x == 0 || x == 1 {
			return x == 1, nil
		}
	case float64:
		if x == 0 || x == 1 {
			return x == 1, nil
		}
	}
	return false, fmt.Errorf("args.level must be true or false, not %v", v)
}

func (a *Agent) sensorInterval(args map[string]any) (any, error) {
	name, _ := args["sensor"].(string)
	var p time.Duration
	switch x := args["period"].(type) {
	case string:
		d, err := time.ParseDuration(x)
		if err != nil {
			return nil, fmt.Errorf("args.period %q is not a duration like \"500ms\"", x)
		}
		p = d
	case uint64:
		p = time.Duration(min(x, math.MaxInt64/uint64(time.Millisecond))) * time.Millisecond
	case float64:
		p = time.Duration(x * float64(time.Millisecond))
	default:
		return nil, fmt.Errorf("args.period must be a duration (\"500ms\") or milliseconds")
	}
	if p < 10*time.Millisecond || p > 24*time.Hour {
		return nil, fmt.Errorf("args.period %s is out of range; it must be between 10ms and 24h", p)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, r := range a.sensors {
		if r.spec.name == name {
			r.setPeriod(p)
			a.log.Info("sensor period changed by command", "sensor", name, "period", p.String())
			return map[string]any{"sensor": name, "period_ms": uint64(p / time.Millisecond)}, nil
		}
	}
	return nil, fmt.Errorf("no sensor %q", name)
}

func (a *Agent) info() map[string]any {
	a.mu.Lock()
	q, started := a.q, a.startedAt
	var acts []any
	for n := range a.actuators {
		acts = append(acts, n)
	}
	a.mu.Unlock()
	sort.Slice(acts, func(i, j int) bool { return acts[i].(string) < acts[j].(string) })
	var sensors []any
	for _, s := range a.sensorInfos() {
		sensors = append(sensors, map[string]any{"id": s.ID, "kind": s.Kind, "unit": s.Unit, "period_ms": s.PeriodMS})
	}
	st := q.Stats()
	v := version.Get()
	return map[string]any{
		"device_id":      a.s.deviceID,
		"version":        v.Version,
		"commit":         v.Commit,
		"go":             v.GoVersion,
		"uptime_s":       uint64(time.Since(started) / time.Second),
		"spool_id":       q.ID(),
		"first_seq":      q.FirstSeq(),
		"queued_frames":  uint64(st.Records),
		"queued_bytes":   uint64(st.Bytes),
		"dropped_frames": st.Dropped,
		"sensors":        sensors,
		"actuators":      acts,
	}
}

// resultCache remembers the results of the last commands by id, so that a
// command resent by a hub is not executed twice.
type resultCache struct {
	mu    sync.Mutex // guards the fields below
	max   int
	byID  map[string]*frame.Result
	order []string // oldest first
}

func newResultCache(n int) *resultCache {
	return &resultCache{max: n, byID: map[string]*frame.Result{}}
}

func (c *resultCache) get(id string) (*frame.Result, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.byID[id]
	return r, ok
}

func (c *resultCache) put(id string, r *frame.Result) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.byID[id]; ok {
		return
	}
	if len(c.order) >= c.max {
		delete(c.byID, c.order[0])
		c.order = c.order[1:]
	}
	c.byID[id] = r
	c.order = append(c.order, id)
}
