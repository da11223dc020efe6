package main

import (
	"fmt"
	"log/slog"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/stella-scan/stella/internal/core"
)

// coreFlags choose the scanner core of `stella serve` and `stella worker`:
// in-process (the DB, the layer cache, the policy) or a `stella core`
// over gRPC at --core-addr.
type coreFlags struct {
	sf       sourceFlags
	plugins  pluginFlags
	dbPath   string
	dirs     []string
	opaURL   string
	coreAddr string
}

// add adds the flags of a process that may call a remote core.
func (f *coreFlags) add(fl *pflag.FlagSet) {
	f.addLocal(fl)
	fl.StringVar(&f.coreAddr, "core-addr", "", "call the scanner core at HOST:PORT (`stella core`) instead of in-process")
}

// addLocal adds the flags of the in-process core.
func (f *coreFlags) addLocal(fl *pflag.FlagSet) {
	f.sf.add(fl)
	f.plugins.add(fl)
	fl.StringVar(&f.dbPath, "db", "", "vulnerability DB of the in-process core (default $STELLA_DB or the data directory's)")
	fl.StringArrayVar(&f.dirs, "policy", nil, "organisation policy directory, evaluated with the default bundle on every scan (repeatable)")
	fl.StringVar(&f.opaURL, "opa-url", "", "decide with this OPA server instead")
}

// open returns the scanner and what closes it.
func (f *coreFlags) open(cmd *cobra.Command) (core.Scanner, func(), error) {
	if f.coreAddr != "" {
		c, err := core.Dial(f.coreAddr)
		if err != nil {
			return nil, nil, withCode(exitUsage, fmt.Errorf("--core-addr: %w", err))
		}
		return c, func() { c.Close() }, nil
	}
	return f.local(cmd)
}

// local opens the in-process core. The default bundle always runs, so
// every scan gets a verdict (pass, warn, fail), whichever process scans.
func (f *coreFlags) local(cmd *cobra.Command) (*core.Local, func(), error) {
	if f.dbPath == "" {
		f.dbPath = defaultDBPath()
	}
	db, err := openDB(f.dbPath)
	if err != nil {
		return nil, nil, err
	}
	opts, err := f.sf.options(cmd)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	opts.Progress = nil
	host, err := f.plugins.open(cmd.Context())
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	dirs := f.dirs
	if d := host.RegoDir(); d != "" {
		if f.opaURL != "" {
			slog.Warn("the plug-in directory's Rego files are not sent to the OPA server at --opa-url; add them to its bundle")
		} else {
			dirs = append(dirs[:len(dirs):len(dirs)], d)
		}
	}
	ev, err := evaluator(cmd, dirs, f.opaURL, 0)
	if err != nil {
		host.Close()
		db.Close()
		return nil, nil, err
	}
	closeFn := func() {
		if opts.Cache != nil {
			opts.Cache.Close()
		}
		host.Close()
		db.Close()
	}
	return &core.Local{DB: db, Options: opts, Policy: ev, Version: version, Plugins: host}, closeFn, nil
}
