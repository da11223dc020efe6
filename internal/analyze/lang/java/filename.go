package java

import "strings"

// SplitFileName splits an archive file name the way Maven writes it,
// <artifactId>-<version>.<ext>, at the first "-" followed by a digit:
// "log4j-api-2.19.0.jar" → "log4j-api", "2.19.0";
// "guava-31.1-jre.jar" → "guava", "31.1-jre". It returns empty strings
// when the name has no version.
func SplitFileName(base string) (artifact, version string) {
	if i := strings.LastIndexByte(base, '.'); i > 0 {
		base = base[:i]
	}
	for i := 1; i+1 < len(base); i++ {
		if base[i] == '-' && base[i+1] >= '0' && base[i+1] <= '9' {
			return base[:i], base[i+1:]
		}
	}
	return "", ""
}
