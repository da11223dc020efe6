// Package all registers every feed connector. Import it for its side
// effect; adding a connector is one line here.
package all

import (
	_ "github.com/stella-scan/stella/internal/feed/epss"
	_ "github.com/stella-scan/stella/internal/feed/kev"
	_ "github.com/stella-scan/stella/internal/feed/nvd"
	_ "github.com/stella-scan/stella/internal/feed/osv"
)
