// Command oracle writes real profiles made by Go's runtime/pprof, the
// reference that cprof's decoder and reports are checked against.
//
// Usage: oracle OUTDIR
//
// It writes cpu.pb.gz, heap.pb.gz, allocs.pb.gz, mutex.pb.gz, block.pb.gz,
// goroutine.pb.gz and threadcreate.pb.gz into OUTDIR.  Every workload runs in
// a function with a fixed name (marked noinline so it keeps its own frame),
// so tests can name what they expect to find.  Part of the work runs under
// pprof.Do with labels handler=/api/a or handler=/api/b.  The whole run
// takes under a second of wall time on an idle two-core machine.
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"time"
)

// Record every allocation: set before main runs so that even the start-up
// allocations of the runtime are sampled at rate 1.
func init() {
	runtime.MemProfileRate = 1
}

var sink uint64

// spin burns CPU for a fixed amount of work (millions of multiply-adds, about
// 1 ms of CPU per unit on a current x86 core) in a loop the compiler cannot
// remove.  Fixed work rather than wall time: on a loaded machine the run
// takes longer but the profile still gets its samples in every function.
//
//go:noinline
func spin(millions int) uint64 {
	var x uint64 = 1
	for i := 0; i < millions*1000000; i++ {
		x = x*6364136223846793005 + 1442695040888963407
	}
	return x
}

//go:noinline
func cpuHashA() { sink += spin(320) }

//go:noinline
func cpuSortB() { sink += spin(230) }

//go:noinline
func cpuParseC() { sink += spin(230) }

//go:noinline
func cpuIdleD() { sink += spin(140) }

//go:noinline
func handleA(ctx context.Context) { cpuHashA() }

//go:noinline
func handleB(ctx context.Context) { cpuSortB() }

func writeCPU(dir string) error {
	f, err := os.Create(filepath.Join(dir, "cpu.pb.gz"))
	if err != nil {
		return err
	}
	defer f.Close()
	if err := pprof.StartCPUProfile(f); err != nil {
		return err
	}
	// Two goroutines at once so both shared cores are busy; about 1 s of
	// CPU in ~0.6 s of wall time on an idle machine.
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		pprof.Do(context.Background(), pprof.Labels("handler", "/api/a"), handleA)
		cpuIdleD()
	}()
	go func() {
		defer wg.Done()
		pprof.Do(context.Background(), pprof.Labels("handler", "/api/b"), handleB)
		cpuParseC()
	}()
	wg.Wait()
	pprof.StopCPUProfile()
	return f.Close()
}

// Allocation sites of distinct sizes; some results stay live (kept) so the
// heap profile has in-use data, the rest become garbage (allocs only).
var kept [][]byte

//go:noinline
func allocSmall() []byte { return make([]byte, 64) }

//go:noinline
func allocMedium() []byte { return make([]byte, 4096) }

//go:noinline
func allocLarge() []byte { return make([]byte, 1<<20) }

//go:noinline
func allocGarbage() []byte { return make([]byte, 512) }

//go:noinline
func heapWork() {
	for i := 0; i < 1000; i++ {
		kept = append(kept, allocSmall())
	}
	for i := 0; i < 100; i++ {
		kept = append(kept, allocMedium())
	}
	for i := 0; i < 4; i++ {
		kept = append(kept, allocLarge())
	}
	for i := 0; i < 2000; i++ {
		sink += uint64(len(allocGarbage()))
	}
}

// Contention: workers take one mutex and hold it briefly, so the others wait
// (mutex profile: the unlocker's stack; block profile: the waiter's stack).
var mu sync.Mutex

//go:noinline
func lockHolder(n int) {
	for i := 0; i < n; i++ {
		mu.Lock()
		time.Sleep(200 * time.Microsecond)
		mu.Unlock()
	}
}

//go:noinline
func contend() {
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lockHolder(25)
		}()
	}
	wg.Wait()
}

//go:noinline
func chanReceiver(c chan int, n int) {
	for i := 0; i < n; i++ {
		sink += uint64(<-c)
	}
}

//go:noinline
func chanSender(c chan int, n int) {
	for i := 0; i < n; i++ {
		time.Sleep(time.Millisecond)
		c <- i
	}
}

//go:noinline
func blockOnChannel() {
	c := make(chan int)
	done := make(chan struct{})
	go func() {
		chanSender(c, 50)
		close(done)
	}()
	chanReceiver(c, 50)
	<-done
}

// Goroutines parked in known functions when the goroutine profile is taken;
// half of them carry labels.
//
//go:noinline
func parkedWorker(release chan struct{}) { <-release }

//go:noinline
func parkedLabeled(ctx context.Context, release chan struct{}) { parkedWorker(release) }

func startParked(release chan struct{}, ready *sync.WaitGroup) {
	for i := 0; i < 3; i++ {
		ready.Add(2)
		go func() {
			ready.Done()
			parkedWorker(release)
		}()
		go func() {
			pprof.Do(context.Background(), pprof.Labels("handler", "/api/a"), func(ctx context.Context) {
				ready.Done()
				parkedLabeled(ctx, release)
			})
		}()
	}
}

// waitParked returns once n goroutines are blocked in main.parkedWorker's
// channel receive (or after 10 s), so the goroutine profile shows all of
// them parked there however loaded the machine is.
func waitParked(n int) {
	buf := make([]byte, 1<<20)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		all := string(buf[:runtime.Stack(buf, true)])
		parked := 0
		for _, g := range strings.Split(all, "\n\n") {
			if strings.Contains(g, "[chan receive") && strings.Contains(g, "main.parkedWorker(") {
				parked++
			}
		}
		if parked >= n {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

func writeProfile(dir, name string) error {
	f, err := os.Create(filepath.Join(dir, name+".pb.gz"))
	if err != nil {
		return err
	}
	defer f.Close()
	if err := pprof.Lookup(name).WriteTo(f, 0); err != nil {
		return err
	}
	return f.Close()
}

func run(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := writeCPU(dir); err != nil {
		return err
	}

	heapWork()
	runtime.GC() // publish the allocations to the heap profile
	if err := writeProfile(dir, "heap"); err != nil {
		return err
	}
	if err := writeProfile(dir, "allocs"); err != nil {
		return err
	}

	runtime.SetMutexProfileFraction(1)
	runtime.SetBlockProfileRate(1)
	contend()
	blockOnChannel()
	// Leave the rates set: the mutex profile's values are scaled by the
	// current fraction when written, so resetting it to 0 would zero them.
	if err := writeProfile(dir, "mutex"); err != nil {
		return err
	}
	if err := writeProfile(dir, "block"); err != nil {
		return err
	}

	release := make(chan struct{})
	var ready sync.WaitGroup
	startParked(release, &ready)
	ready.Wait()
	waitParked(6)
	if err := writeProfile(dir, "goroutine"); err != nil {
		return err
	}
	close(release)
	if err := writeProfile(dir, "threadcreate"); err != nil {
		return err
	}
	runtime.KeepAlive(kept)
	return nil
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: oracle OUTDIR")
		os.Exit(2)
	}
	if err := run(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "oracle:", err)
		os.Exit(1)
	}
}
