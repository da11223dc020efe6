package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/stella-scan/stella/internal/policy"
	"github.com/stella-scan/stella/internal/report"
)

func init() { register(newPolicyCmd) }

func newPolicyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Evaluate, test and check OPA/Rego policies",
		Long: `Stella decides with OPA/Rego: a built-in default bundle (fail on critical or
high findings with a fix, fail on CISA KEV findings, warn on unfixed ones)
and organisation rules from --policy DIR (*.rego, JSON and YAML data). As in
conftest, the deny and warn rules of every loaded package count. Thresholds
(data.stella.config) and waivers (data.stella.waivers) are data.`,
	}
	cmd.AddCommand(newPolicyEvalCmd(), newPolicyTestCmd(), newPolicyCheckCmd(), newPolicyBundleCmd())
	return cmd
}

// policyLoadError maps a policy that does not load to exit code 3 (a
// document could not be read); the message lists file:line:col.
func policyLoadError(err error) error {
	if policy.IsLoadError(err) {
		return withCode(exitInput, err)
	}
	return withCode(exitInternal, err)
}

// evaluator is the in-process engine, or an OPA server with --opa-url.
func evaluator(cmd *cobra.Command, dirs []string, opaURL string, timeout time.Duration) (policy.Evaluator, error) {
	if opaURL != "" {
		if len(dirs) > 0 {
			return nil, withCode(exitUsage, errors.New("--policy and --opa-url exclude each other: the OPA server holds the bundle (write it with `stella policy bundle`)"))
		}
		r, err := policy.NewRemote(opaURL, nil, timeout)
		if err != nil {
			return nil, withCode(exitUsage, err)
		}
		return r, nil
	}
	e, err := policy.Load(cmd.Context(), policy.Options{Dirs: dirs, Timeout: timeout})
	if err != nil {
		return nil, policyLoadError(err)
	}
	return e, nil
}

// readInput reads a scan result (`stella scan -f json`) or a policy input
// document (api/schema/policy-input.json) from FILE or stdin ("-").
func readInput(cmd *cobra.Command, file string) (*policy.Input, error) {
	var r io.Reader
	if file == "-" {
		r = cmd.InOrStdin()
	} else {
		f, err := os.Open(file)
		if err != nil {
			return nil, withCode(exitInput, fmt.Errorf("--input: %w", err))
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, 256<<20))
	if err != nil {
		return nil, withCode(exitInput, fmt.Errorf("--input %s: %w", file, err))
	}
	// A scan result (stella scan -f json) has a schemaVersion; a policy
	// input document does not.
	var probe struct {
		SchemaVersion *string `json:"schemaVersion"`
	}
	if err := json.Unmarshal(b, &probe); err != nil {
		return nil, withCode(exitInput, fmt.Errorf("--input %s: not JSON: %w", file, err))
	}
	if probe.SchemaVersion != nil {
		var res report.Result
		if err := json.Unmarshal(b, &res); err != nil {
			return nil, withCode(exitInput, fmt.Errorf("--input %s: not a scan result: %w", file, err))
		}
		in := policy.FromResult(&res)
		return &in, nil
	}
	var in policy.Input
	if err := json.Unmarshal(b, &in); err != nil {
		return nil, withCode(exitInput, fmt.Errorf("--input %s: not a scan result or a policy input document (see api/schema/policy-input.json): %w", file, err))
	}
	in.Normalize()
	return &in, nil
}

func newPolicyEvalCmd() *cobra.Command {
	var (
		input   string
		dirs    []string
		opaURL  string
		timeout time.Duration
		out     string
	)
	cmd := &cobra.Command{
		Use:   "eval --input RESULT.json [--policy DIR]...",
		Short: "Decide one scan result and print the decision as JSON",
		Long: `Decide one scan result (stella scan -f json) or policy input document
(api/schema/policy-input.json) with the
default bundle and --policy DIR, or with an OPA server (--opa-url), and
print the decision: verdict pass/warn/fail, allow, the deny and warn
reasons citing findings, what waivers set aside and which waivers expired.

Exit codes: 0 pass or warn, 1 fail, 2 usage, 3 unreadable input or policy.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if input == "" {
				return withCode(exitUsage, errors.New("--input FILE is required (- for stdin)"))
			}
			ev, err := evaluator(cmd, dirs, opaURL, timeout)
			if err != nil {
				return err
			}
			in, err := readInput(cmd, input)
			if err != nil {
				return err
			}
			d, err := ev.Evaluate(cmd.Context(), in)
			if err != nil {
				return withCode(exitInternal, err)
			}
			err = writeOutput(cmd, out, func(w io.Writer) error {
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				return enc.Encode(d)
			})
			if err != nil {
				return err
			}
			if d.Verdict == policy.VerdictFail {
				return withCode(exitFail, fmt.Errorf("policy: %s", d.Summary()))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&input, "input", "", "policy input document (JSON); - reads stdin")
	cmd.Flags().StringArrayVar(&dirs, "policy", nil, "organisation policy directory (repeatable)")
	cmd.Flags().StringVar(&opaURL, "opa-url", "", "ask this OPA server (http://HOST:PORT) instead of evaluating in-process")
	cmd.Flags().DurationVar(&timeout, "timeout", policy.DefaultTimeout, "bound on one evaluation")
	cmd.Flags().StringVarP(&out, "output", "o", "", "write the decision to FILE instead of stdout")
	return cmd
}

func newPolicyTestCmd() *cobra.Command {
	var (
		builtin bool
		run     string
		verbose bool
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "test [DIR]...",
		Short: "Run Rego unit tests (test_* rules) as `opa test` does",
		Long: `Run the test_* rules of DIR's *_test.rego files with OPA's tester, the
default bundle loaded beside them. Without DIR, or with --builtin, the
default bundle's own tests run.

Exit codes: 0 all pass, 1 a test failed, 3 a policy does not load.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			res, err := policy.RunTests(cmd.Context(), policy.TestOptions{Dirs: args, Builtin: builtin || len(args) == 0, Run: run, Timeout: timeout})
			if err != nil {
				return policyLoadError(err)
			}
			w := cmd.OutOrStdout()
			pass, fail := 0, 0
			for _, r := range res {
				if r.Pass || r.Skip {
					pass++
				} else {
					fail++
				}
				if verbose || !(r.Pass || r.Skip) {
					fmt.Fprintln(w, r)
					if r.Output != "" && !r.Pass {
						fmt.Fprint(w, r.Output)
					}
				}
			}
			fmt.Fprintf(w, "%d passed, %d failed\n", pass, fail)
			if len(res) == 0 {
				return withCode(exitUsage, errors.New("no test_* rules found"))
			}
			if fail > 0 {
				return withCode(exitFail, fmt.Errorf("%d of %d Rego tests failed", fail, len(res)))
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&builtin, "builtin", false, "also run the default bundle's tests")
	cmd.Flags().StringVar(&run, "run", "", "run only tests whose path matches this regular expression")
	cmd.Flags().BoolVar(&verbose, "verbose-tests", false, "print every test, not only failures")
	cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Second, "bound on each test")
	return cmd
}

func newPolicyCheckCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "check DIR...",
		Short: "Parse and compile policies; report errors with file:line",
		Long: `Parse and compile DIR's policies (tests included) with the default bundle,
under the same restrictions as evaluation: http.send, net.lookup_ip_addr
and opa.runtime are refused.

Exit codes: 0 fine, 2 usage, 3 errors (one per line: file:line:col: message).`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := policy.Check(cmd.Context(), args); err != nil {
				return policyLoadError(err)
			}
			fmt.Fprintln(cmd.OutOrStdout(), "ok")
			return nil
		},
	}
}

func newPolicyBundleCmd() *cobra.Command {
	var (
		dirs []string
		out  string
	)
	cmd := &cobra.Command{
		Use:   "bundle [--policy DIR]... -o OUTDIR",
		Short: "Write the bundle an OPA server needs for --opa-url",
		Long: `Write the default bundle, --policy DIR and the generated module that gathers
every package's deny and warn rules to OUTDIR, for the sidecar form:

  stella policy bundle --policy ./policies -o /bundle
  opa run --server --addr 127.0.0.1:8181 /bundle
  stella admission --opa-url http://127.0.0.1:8181 …`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return withCode(exitUsage, errors.New("-o OUTDIR is required"))
			}
			e, err := policy.Load(cmd.Context(), policy.Options{Dirs: dirs})
			if err != nil {
				return policyLoadError(err)
			}
			if err := e.WriteBundle(out); err != nil {
				return withCode(exitInternal, err)
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&dirs, "policy", nil, "organisation policy directory (repeatable)")
	cmd.Flags().StringVarP(&out, "output", "o", "", "directory to write the bundle to")
	return cmd
}
