// Command istio-xds runs Istio's own control-plane code, from the pinned istio.io/istio module,
// for tests/e2e/istio.test.ts (no Kubernetes, no istiod binary):
//
//	istio-xds validate <file.yaml>
//	    parses every document with Istio's config parser and runs the validation istiod's
//	    admission webhook runs (each kind's schema ValidateConfig); prints one line per object
//	    ("valid <Kind> <ns>/<name>" and any "warning ..."), or "invalid ..." and exits 1.
//	istio-xds serve --config <file.yaml> [--listen 127.0.0.1:15010]
//	    serves those configs over plaintext gRPC xDS from Istio's in-process discovery server
//	    (istio.io/istio/pilot/test/xds NewFakeDiscoveryServer: the real istiod config store,
//	    WasmPlugin -> TrafficExtension translation, push context and xDS generators, over a fake
//	    Kubernetes client). Prints "ready <address>" once it accepts connections; stops on
//	    SIGTERM or SIGINT.
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"

	"istio.io/istio/pilot/pkg/config/kube/crd"
	"istio.io/istio/pilot/test/xds"
	"istio.io/istio/pkg/config/schema/collections"
)

// failer is the test.Failer NewFakeDiscoveryServer wants, for a program: a fatal error ends
// the process, cleanups run at shutdown.
type failer struct {
	cleanups []func()
}

func (f *failer) Fail()    { f.FailNow() }
func (f *failer) FailNow() { f.Fatal("failed") }
func (f *failer) Fatal(args ...any) {
	fmt.Fprintln(os.Stderr, append([]any{"fatal:"}, args...)...)
	os.Exit(1)
}
func (f *failer) Fatalf(s string, a ...any) { f.Fatal(fmt.Sprintf(s, a...)) }
func (f *failer) Log(args ...any)           { fmt.Fprintln(os.Stderr, args...) }
func (f *failer) Logf(s string, a ...any)   { fmt.Fprintf(os.Stderr, s+"\n", a...) }
func (f *failer) Helper()                   {}
func (f *failer) Skip(args ...any)          { f.Fatal(append([]any{"skip:"}, args...)...) }
func (f *failer) Cleanup(fn func())         { f.cleanups = append(f.cleanups, fn) }
func (f *failer) TempDir() string {
	d, err := os.MkdirTemp("", "istio-xds-")
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = os.RemoveAll(d) })
	return d
}

func (f *failer) cleanup() {
	for i := len(f.cleanups) - 1; i >= 0; i-- {
		f.cleanups[i]()
	}
}

// validate runs Istio's parser (which refuses what fails validation) and then each schema's
// validation again for its warnings.
func validate(file string) int {
	text, err := os.ReadFile(file)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	configs, unknown, err := crd.ParseInputs(string(text))
	if err != nil {
		fmt.Printf("invalid %v\n", err)
		return 1
	}
	for _, u := range unknown {
		fmt.Printf("invalid unknown kind %s %s\n", u.Kind, u.Name)
		return 1
	}
	for _, c := range configs {
		s, ok := collections.PilotGatewayAPI().FindByGroupVersionAliasesKind(c.GroupVersionKind)
		if !ok {
			fmt.Printf("invalid no schema for %s\n", c.GroupVersionKind)
			return 1
		}
		warning, err := s.ValidateConfig(c)
		if err != nil {
			fmt.Printf("invalid %s %s/%s: %v\n", c.GroupVersionKind.Kind, c.Namespace, c.Name, err)
			return 1
		}
		fmt.Printf("valid %s %s/%s\n", c.GroupVersionKind.Kind, c.Namespace, c.Name)
		if warning != nil {
			fmt.Printf("warning %s %s/%s: %v\n", c.GroupVersionKind.Kind, c.Namespace, c.Name, warning)
		}
	}
	return 0
}

func serve(args []string) int {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	configFile := fs.String("config", "", "Istio configs (YAML documents)")
	listen := fs.String("listen", "127.0.0.1:15010", "plaintext xDS address")
	_ = fs.Parse(args)
	text, err := os.ReadFile(*configFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	var lis net.Listener
	f := &failer{}
	xds.NewFakeDiscoveryServer(f, xds.FakeOptions{
		ConfigString: string(text),
		ListenerBuilder: func() (net.Listener, error) {
			l, err := net.Listen("tcp", *listen)
			lis = l
			return l, err
		},
	})
	fmt.Printf("ready %s\n", lis.Addr())
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	<-stop
	f.cleanup()
	return 0
}

func main() {
	if len(os.Args) >= 3 && os.Args[1] == "validate" {
		os.Exit(validate(os.Args[2]))
	}
	if len(os.Args) >= 2 && os.Args[1] == "serve" {
		os.Exit(serve(os.Args[2:]))
	}
	fmt.Fprintln(os.Stderr, "usage: istio-xds validate <file.yaml> | istio-xds serve --config <file.yaml> [--listen host:port]")
	os.Exit(2)
}
