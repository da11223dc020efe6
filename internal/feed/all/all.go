// Package all registers every feed connector. Import it for its side
// effect; adding a connector is one line here.
package all

import (
	_ "github.com/stella-scan/stella/internal/feed/alpine"
	_ "github.com/stella-scan/stella/internal/feed/certfr"
	_ "github.com/stella-scan/stella/internal/feed/csaf"
	_ "github.com/stella-scan/stella/internal/feed/debian"
	_ "github.com/stella-scan/stella/internal/feed/epss"
	_ "github.com/stella-scan/stella/internal/feed/jvn"
	_ "github.com/stella-scan/stella/internal/feed/kev"
	_ "github.com/stella-scan/stella/internal/feed/nvd"
	_ "github.com/stella-scan/stella/internal/feed/osv"
	_ "github.com/stella-scan/stella/internal/feed/redhat"
	_ "github.com/stella-scan/stella/internal/feed/suse"
	_ "github.com/stella-scan/stella/internal/feed/ubuntu"
)
