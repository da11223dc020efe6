package memory_test

import (
	"testing"
	"time"

	"github.com/stella-scan/stella/internal/queue"
	"github.com/stella-scan/stella/internal/queue/memory"
	"github.com/stella-scan/stella/internal/queue/queuetest"
)

func TestContract(t *testing.T) {
	queuetest.Run(t, func(t *testing.T, lease time.Duration) queue.Queue { return memory.New(lease) })
}
