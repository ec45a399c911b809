#include <vitals/test/http_receiver.hpp>

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <condition_variable>
#include <future>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>

namespace vitals::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool is_2xx(unsigned status) {
  return status >= 200 && status < 300;
}

}  // namespace

std::string received_request::header(std::string_view name) const {
  const auto it = headers.find(lower(name));
  return it == headers.end() ? std::string() : it->second;
}

struct http_receiver::impl {
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  std::optional<tcp::acceptor> acceptor;
  std::vector<std::weak_ptr<tcp::socket>> connections;  // io thread only
  std::thread thread;

  mutable std::mutex mutex;
  mutable std::condition_variable changed;
  std::vector<received_request> requests;
  responder respond;

  /// Runs `fn` on the receiver's thread and waits for it (never call from that thread).
  template <typename Fn>
  void run(Fn&& fn) {
    std::promise<void> done;
    auto result = done.get_future();
    asio::post(io, [&] {
      try {
        fn();
        done.set_value();
      } catch (...) {
        done.set_exception(std::current_exception());
      }
    });
    result.get();
  }

  void listen(std::uint16_t port) {
    acceptor.emplace(io);
    const tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), port);
    acceptor->open(ep.protocol());
    // Rebinding the same port after go_down() must not fail on TIME_WAIT connections.
    acceptor->set_option(tcp::acceptor::reuse_address(true));
    acceptor->bind(ep);
    acceptor->listen();
    accept();
  }

  void accept() {
    acceptor->async_accept([this](boost::system::error_code ec, tcp::socket s) {
      if (ec) return;  // closed by go_down() or the destructor
      auto socket = std::make_shared<tcp::socket>(std::move(s));
      connections.erase(std::remove_if(connections.begin(), connections.end(),
                                       [](const auto& w) { return w.expired(); }),
                        connections.end());
      connections.push_back(socket);
      read(socket, std::make_shared<beast::flat_buffer>());
      accept();
    });
  }

  void read(std::shared_ptr<tcp::socket> socket, std::shared_ptr<beast::flat_buffer> buffer) {
    auto parser = std::make_shared<http::request_parser<http::string_body>>();
    parser->body_limit(64 * 1024 * 1024);
    http::async_read(*socket, *buffer, *parser,
                     [this, socket, buffer, parser](boost::system::error_code ec, std::size_t) {
                       if (ec) return;  // the client closed, or we were taken down
                       serve(socket, buffer, parser->release());
                     });
  }

  void serve(std::shared_ptr<tcp::socket> socket, std::shared_ptr<beast::flat_buffer> buffer,
             http::request<http::string_body> req) {
    received_request r;
    r.method = std::string(req.method_string());
    r.target = std::string(req.target());
    for (const auto& f : req)
      r.headers[lower(std::string(f.name_string()))] = std::string(f.value());
    r.body = req.body();
    r.at = std::chrono::steady_clock::now();
    responder decide;
    std::size_t index = 0;
    {
      std::lock_guard lock(mutex);
      decide = respond;
      index = requests.size();
    }
    http_answer answer = decide ? decide(r, index) : http_answer{};
    r.answered = answer.silent ? 0 : answer.status;
    {
      std::lock_guard lock(mutex);
      requests.push_back(std::move(r));
    }
    changed.notify_all();
    if (answer.silent) {
      // Hold the connection open without answering: the client's timeout must act. The socket
      // lives on in this handler-less state until go_down() or the destructor closes it.
      held.push_back(socket);
      return;
    }
    auto res = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(answer.status), req.version());
    res->set(http::field::server, "vitals-test-receiver");
    for (const auto& [name, value] : answer.headers) res->set(name, value);
    if (res->find(http::field::content_type) == res->end() && !answer.body.empty()) {
      res->set(http::field::content_type, "application/json");
    }
    res->body() = std::move(answer.body);
    res->keep_alive(req.keep_alive());
    res->prepare_payload();
    http::async_write(*socket, *res,
                      [this, socket, buffer, res](boost::system::error_code ec, std::size_t) {
                        if (ec) return;
                        if (res->keep_alive()) return read(socket, buffer);
                        boost::system::error_code ignored;
                        socket->shutdown(tcp::socket::shutdown_send, ignored);
                      });
  }

  void close_all() {
    boost::system::error_code ignored;
    if (acceptor) acceptor->close(ignored);
    acceptor.reset();
    for (auto& w : connections) {
      if (auto s = w.lock()) s->close(ignored);
    }
    connections.clear();
    held.clear();
  }

  std::vector<std::shared_ptr<tcp::socket>> held;  // silent connections, io thread only
};

http_receiver::http_receiver(std::uint16_t port) : impl_(std::make_unique<impl>()) {
  impl_->listen(port);  // before the thread starts: nothing else touches the acceptor yet
  port_ = impl_->acceptor->local_endpoint().port();
  impl_->thread = std::thread([this] { impl_->io.run(); });
}

http_receiver::~http_receiver() {
  impl_->run([this] { impl_->close_all(); });
  impl_->work.reset();
  impl_->io.stop();
  impl_->thread.join();
}

std::string http_receiver::url(std::string_view path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
}

void http_receiver::respond_with(responder r) {
  std::lock_guard lock(impl_->mutex);
  impl_->respond = std::move(r);
}

void http_receiver::respond_status(unsigned status) {
  respond_with([status](const received_request&, std::size_t) {
    http_answer a;
    a.status = status;
    return a;
  });
}

void http_receiver::go_down() {
  impl_->run([this] { impl_->close_all(); });
}

void http_receiver::come_up() {
  impl_->run([this] {
    if (!impl_->acceptor) impl_->listen(port_);
  });
}

std::vector<received_request> http_receiver::requests() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->requests;
}

std::size_t http_receiver::count() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->requests.size();
}

std::vector<received_request> http_receiver::accepted() const {
  std::vector<received_request> out;
  std::lock_guard lock(impl_->mutex);
  for (const auto& r : impl_->requests) {
    if (is_2xx(r.answered)) out.push_back(r);
  }
  return out;
}

bool http_receiver::wait_for(std::size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(impl_->mutex);
  return impl_->changed.wait_for(lock, timeout, [&] { return impl_->requests.size() >= n; });
}

bool http_receiver::wait_for_accepted(std::size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(impl_->mutex);
  return impl_->changed.wait_for(lock, timeout, [&] {
    return static_cast<std::size_t>(
               std::count_if(impl_->requests.begin(), impl_->requests.end(),
                             [](const received_request& r) { return is_2xx(r.answered); })) >= n;
  });
}

}  // namespace vitals::test
