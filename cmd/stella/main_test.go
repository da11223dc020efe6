package main

import (
	"os"
	"testing"

	"github.com/stella-scan/stella/internal/plugin"
)

// envRunMain makes the test binary act as the stella command itself, so
// that tests can start real `stella serve` and `stella worker` processes
// without building the binary.
const envRunMain = "STELLA_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	plugin.RunLauncherIfRequested()
	if os.Getenv(envRunMain) == "1" {
		main() // exits
	}
	os.Exit(m.Run())
}
