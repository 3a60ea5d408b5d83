// SPDX-License-Identifier: GPL-3.0-or-later
// The M:N runtime on real threads and real loopback sockets: fibers park on Asio operations through
// runtime::yield, completions from foreign threads come back through the worker's io_context, and stop waits
// for the last fiber.
#include "core/runtime/blocking.hpp"
#include "core/runtime/worker.hpp"
#include "core/runtime/yield.hpp"

#include <QTest>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <latch>
#include <thread>

#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif
#if defined(TEST_ASAN)
#include <sanitizer/asan_interface.h>
#include <sys/mman.h>
#endif

using namespace fleetscope;
namespace asio = boost::asio;
using namespace std::chrono_literals;

class TestRuntime : public QObject {
    Q_OBJECT
private slots:
    void fibersParkOnTimersAndAllComplete();
    void foreignThreadCompletionResumesFiberOnItsWorker();
    void echoOverLoopbackWithManyFibers();
    void countersTrackSwitchesAndIdle();
    void stacksAreReusedNotRemapped();
    void unmappedStackLeavesNoPoison();
    void blockingPoolRunsOffTheWorker();
    void errorsThrowWithoutErrorCodeAndFillItWith();
};

void TestRuntime::fibersParkOnTimersAndAllComplete()
{
    runtime::Runtime rt(2, {});
    rt.start();
    constexpr int kFibers = 2000;
    std::atomic<int> done{0};
    std::latch all(kFibers);
    for (int i = 0; i < kFibers; ++i) {
        rt.worker(i % 2).post_spawn([&, i] {
            asio::steady_timer t(runtime::this_worker_io(), std::chrono::milliseconds(1 + i % 20));
            t.async_wait(runtime::yield);
            done.fetch_add(1);
            all.count_down();
        });
    }
    all.wait();
    QCOMPARE(done.load(), kFibers);
    rt.stop();
    rt.join();
    QCOMPARE(rt.worker(0).counters().fibers_alive.load(), 0u);
}

void TestRuntime::foreignThreadCompletionResumesFiberOnItsWorker()
{
    runtime::Runtime rt(2, {});
    rt.start();
    std::promise<std::pair<std::thread::id, std::thread::id>> ids;
    std::thread producer;
    rt.worker(1).post_spawn([&] {
        const auto before = std::this_thread::get_id();
        // A completion produced on another thread, as the store's writer does: post to the handler's
        // executor.
        int v = asio::async_initiate<const runtime::Yield&, void(int)>(
            [&producer](auto handler) {
                producer = std::thread([h = std::move(handler)]() mutable {
                    std::this_thread::sleep_for(5ms);
                    auto ex = asio::get_associated_executor(h);
                    asio::post(ex, [h = std::move(h)]() mutable { h(42); });
                });
            },
            runtime::yield);
        QCOMPARE(v, 42);
        ids.set_value({before, std::this_thread::get_id()});
    });
    auto [before, after] = ids.get_future().get();
    // Asio's post may still be signalling the io_context after the handler ran (it unlocks, then signals):
    // the producer must be done before the runtime and its io_contexts go.
    producer.join();
    QCOMPARE(before, after);
    rt.stop();
}

void TestRuntime::echoOverLoopbackWithManyFibers()
{
    runtime::Runtime rt(2, {});
    rt.start();
    constexpr int kClients = 200;
    constexpr int kRounds = 20;
    std::promise<unsigned short> port_promise;
    std::atomic<int> echoed{0};
    std::latch clients_done(kClients);
    rt.worker(0).post_spawn([&] {
        asio::ip::tcp::acceptor acc(runtime::this_worker_io(), {asio::ip::make_address("127.0.0.1"), 0});
        port_promise.set_value(acc.local_endpoint().port());
        for (int i = 0; i < kClients; ++i) {
            auto& w = rt.least_loaded();
            asio::ip::tcp::socket s = acc.async_accept(w.io(), runtime::yield);
            w.counters().connections.fetch_add(1);
            w.post_spawn([&, s = std::move(s)]() mutable {
                char buf[64];
                boost::system::error_code ec;
                for (;;) {
                    std::size_t n = s.async_read_some(asio::buffer(buf), runtime::yield[ec]);
                    if (ec)
                        break;
                    // Counted before the write: once a client has read its echo, the count includes it.
                    echoed.fetch_add(static_cast<int>(n));
                    asio::async_write(s, asio::buffer(buf, n), runtime::yield[ec]);
                    if (ec)
                        break;
                }
            });
        }
    });
    const unsigned short port = port_promise.get_future().get();
    for (int c = 0; c < kClients; ++c) {
        rt.worker(c % 2).post_spawn([&] {
            asio::ip::tcp::socket s(runtime::this_worker_io());
            s.async_connect({asio::ip::make_address("127.0.0.1"), port}, runtime::yield);
            char out[8] = "ping-01", in[8] = {};
            for (int r = 0; r < kRounds; ++r) {
                asio::async_write(s, asio::buffer(out), runtime::yield);
                asio::async_read(s, asio::buffer(in), runtime::yield);
                QCOMPARE(std::string(in, 7), std::string(out, 7));
            }
            clients_done.count_down();
        });
    }
    clients_done.wait();
    QCOMPARE(echoed.load(), kClients * kRounds * 8); // bytes: 8 per round
    // Placement balanced the accepted sockets.
    QVERIFY(rt.worker(0).counters().connections.load() >= kClients / 2 - 1);
    QVERIFY(rt.worker(1).counters().connections.load() >= kClients / 2 - 1);
    rt.stop();
}

void TestRuntime::countersTrackSwitchesAndIdle()
{
    runtime::Runtime rt(1, {});
    rt.start();
    std::promise<void> done;
    rt.worker(0).post_spawn([&] {
        asio::steady_timer t(runtime::this_worker_io());
        for (int i = 0; i < 10; ++i) {
            t.expires_after(5ms);
            t.async_wait(runtime::yield);
        }
        done.set_value();
    });
    done.get_future().get();
    const auto& c = rt.worker(0).counters();
    QVERIFY(c.context_switches.load() >= 10);
    QVERIFY(c.idle_ns.load() >= std::chrono::nanoseconds(40ms).count());
    rt.stop();
    rt.join();
    QCOMPARE(c.ready_depth.load(), 0u);
}

void TestRuntime::stacksAreReusedNotRemapped()
{
    runtime::StackCache cache(64 * 1024, 4);
    std::vector<boost::context::stack_context> held;
    for (int i = 0; i < 6; ++i)
        held.push_back(cache.allocate());
    QCOMPARE(cache.mapped(), 6u);
    // The guard page is below the usable range and the top is writable.
    static_cast<char*>(held[0].sp)[-1] = 1;
    for (auto& s : held)
        cache.deallocate(s);
    QCOMPARE(cache.cached(), 4u); // the cache keeps its bound; the rest were unmapped
    QCOMPARE(cache.mapped(), 4u);
    auto again = cache.allocate();
    QCOMPARE(cache.mapped(), 4u); // reused, not mapped anew
    cache.deallocate(again);
}

void TestRuntime::unmappedStackLeavesNoPoison()
{
#if defined(TEST_ASAN)
    // A fiber's frames leave their redzones poisoned on its stack (ASan does not see Boost.Context's
    // switches), and munmap does not clear shadow memory: whatever is mapped there next (SQLite's WAL index,
    // in CI) was reported as a stack-buffer-underflow when written. The cache unpoisons what it unmaps.
    runtime::StackCache cache(64 * 1024, 0); // caches nothing: every deallocate unmaps
    auto s = cache.allocate();
    char* low = static_cast<char*>(s.sp) - s.size;
    ASAN_POISON_MEMORY_REGION(low + 4096, 256); // as a frame's redzone would
    QVERIFY(__asan_region_is_poisoned(low, s.size) != nullptr);
    cache.deallocate(s);
    void* p =
        ::mmap(low, s.size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (p == MAP_FAILED)
        QSKIP("the unmapped range was taken by another mapping meanwhile");
    const bool clean = __asan_region_is_poisoned(p, s.size) == nullptr;
    ::munmap(p, s.size);
    QVERIFY2(clean, "the range of an unmapped fiber stack is still poisoned");
#else
    QSKIP("only meaningful under AddressSanitizer (the dev-asan preset)");
#endif
}

void TestRuntime::blockingPoolRunsOffTheWorker()
{
    runtime::Runtime rt(1, {});
    runtime::BlockingPool pool(2);
    rt.start();
    std::promise<bool> result;
    rt.worker(0).post_spawn([&] {
        const auto worker_thread = std::this_thread::get_id();
        const auto ran_on = pool.run([] {
            std::this_thread::sleep_for(10ms);
            return std::this_thread::get_id();
        });
        bool threw = false;
        try {
            pool.run([]() -> int { throw std::runtime_error("boom"); });
        } catch (const std::runtime_error&) {
            threw = true;
        }
        result.set_value(ran_on != worker_thread && std::this_thread::get_id() == worker_thread && threw);
    });
    QVERIFY(result.get_future().get());
    rt.stop();
}

void TestRuntime::errorsThrowWithoutErrorCodeAndFillItWith()
{
    runtime::Runtime rt(1, {});
    rt.start();
    std::promise<std::pair<bool, bool>> result;
    rt.worker(0).post_spawn([&] {
        asio::ip::tcp::socket s(runtime::this_worker_io());
        boost::system::error_code ec;
        // Port 1 on loopback: nothing listens, the connect is refused.
        s.async_connect({asio::ip::make_address("127.0.0.1"), 1}, runtime::yield[ec]);
        const bool filled = ec == asio::error::connection_refused;
        bool threw = false;
        try {
            asio::ip::tcp::socket s2(runtime::this_worker_io());
            s2.async_connect({asio::ip::make_address("127.0.0.1"), 1}, runtime::yield);
        } catch (const boost::system::system_error&) {
            threw = true;
        }
        result.set_value({filled, threw});
    });
    auto [filled, threw] = result.get_future().get();
    QVERIFY(filled);
    QVERIFY(threw);
    rt.stop();
}

QTEST_GUILESS_MAIN(TestRuntime)
#include "test_runtime.moc"
