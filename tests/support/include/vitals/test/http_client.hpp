#pragma once
/// A small synchronous HTTP/1.1 client for tests (one request per connection, loopback).

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace vitals::test {

/// What came back: status 0 means no HTTP answer (connection refused, timeout), with `error`.
struct http_reply {
  unsigned status = 0;
  std::map<std::string, std::string> headers;  ///< names in lower case
  std::string body;
  std::string error;
};

/// Sends one request to 127.0.0.1:`port` and reads the answer, within `timeout`.
http_reply http_request(std::uint16_t port, const std::string& method, const std::string& target,
                        const std::vector<std::pair<std::string, std::string>>& headers = {},
                        const std::string& body = {},
                        std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace vitals::test
