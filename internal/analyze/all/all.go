// Package all registers every analyzer: import it for its side effects.
// Adding an ecosystem is one folder plus one line here.
package all

import (
	_ "github.com/stella-scan/stella/internal/analyze/lang/dotnet"
	_ "github.com/stella-scan/stella/internal/analyze/lang/golang"
	_ "github.com/stella-scan/stella/internal/analyze/lang/java"
	_ "github.com/stella-scan/stella/internal/analyze/lang/npm"
	_ "github.com/stella-scan/stella/internal/analyze/lang/php"
	_ "github.com/stella-scan/stella/internal/analyze/lang/python"
	_ "github.com/stella-scan/stella/internal/analyze/lang/ruby"
	_ "github.com/stella-scan/stella/internal/analyze/lang/rust"
	_ "github.com/stella-scan/stella/internal/analyze/os/apk"
	_ "github.com/stella-scan/stella/internal/analyze/os/dpkg"
	_ "github.com/stella-scan/stella/internal/analyze/os/rpm"
	_ "github.com/stella-scan/stella/internal/analyze/osrelease"
)
