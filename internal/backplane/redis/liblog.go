package redis

import (
	"context"
	"fmt"

	"github.com/hashicorp/go-hclog"
	goredis "github.com/redis/go-redis/v9"
)

// SetLibraryLogger routes go-redis's own messages (connection pool dial
// errors and the like) to log, at warn level. go-redis keeps its logger in a
// process global, so a main calls this once, before any Broker is made;
// libraries and tests leave it alone.
func SetLibraryLogger(log hclog.Logger) {
	goredis.SetLogger(libLogger{log})
}

type libLogger struct{ log hclog.Logger }

func (l libLogger) Printf(_ context.Context, format string, v ...any) {
	l.log.Warn(fmt.Sprintf(format, v...))
}
