// find_proxy_for_url: the PAC helper functions, written for Vigil in plain
// JavaScript on top of three native functions (dnsResolve, myIpAddress,
// alert), evaluated with duktape.
#include <arpa/inet.h>
#include <duktape.h>
#include <netdb.h>
#include <sys/socket.h>

#include <cstdio>
#include <cstdlib>
#include <memory>

#include "proxy/pac.h"

namespace vigil::proxy {
namespace {

// The helpers of the Netscape PAC definition that browsers provide.
constexpr const char* kHelpers = R"JS(
function isPlainHostName(host) { return String(host).indexOf('.') < 0; }
function dnsDomainIs(host, domain) {
  host = String(host).toLowerCase(); domain = String(domain).toLowerCase();
  return host.length >= domain.length && host.substring(host.length - domain.length) === domain;
}
function localHostOrDomainIs(host, hostdom) {
  host = String(host).toLowerCase(); hostdom = String(hostdom).toLowerCase();
  if (host === hostdom) return true;
  return host.indexOf('.') < 0 && hostdom.indexOf(host + '.') === 0;
}
function dnsDomainLevels(host) { return String(host).split('.').length - 1; }
function isResolvable(host) { return dnsResolve(host) !== null; }
function __vigilIsIPv4(text) {
  var parts = String(text).split('.');
  if (parts.length !== 4) return false;
  for (var i = 0; i < 4; i++) {
    if (!/^[0-9]{1,3}$/.test(parts[i]) || Number(parts[i]) > 255) return false;
  }
  return true;
}
function convert_addr(ip) {
  if (!__vigilIsIPv4(ip)) return 0;
  var p = String(ip).split('.');
  return ((Number(p[0]) << 24) | (Number(p[1]) << 16) | (Number(p[2]) << 8) | Number(p[3])) >>> 0;
}
function isInNet(host, pattern, mask) {
  var address = __vigilIsIPv4(host) ? String(host) : dnsResolve(host);
  if (address === null || !__vigilIsIPv4(pattern) || !__vigilIsIPv4(mask)) return false;
  var m = convert_addr(mask);
  return ((convert_addr(address) & m) >>> 0) === ((convert_addr(pattern) & m) >>> 0);
}
function shExpMatch(text, pattern) {
  var source = '^';
  pattern = String(pattern);
  for (var i = 0; i < pattern.length; i++) {
    var c = pattern.charAt(i);
    if (c === '*') source += '.*';
    else if (c === '?') source += '.';
    else if ('\\^$.|+()[]{}/'.indexOf(c) >= 0) source += '\\' + c;
    else source += c;
  }
  return new RegExp(source + '$').test(String(text));
}
var __vigilDays = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
var __vigilMonths = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
// Splits the arguments of the *Range functions into values and the GMT flag.
function __vigilArgs(args) {
  var list = Array.prototype.slice.call(args);
  var gmt = list.length > 0 && String(list[list.length - 1]).toUpperCase() === 'GMT';
  if (gmt) list.pop();
  return { list: list, now: new Date(), gmt: gmt };
}
function __vigilInRange(value, low, high) {
  return low <= high ? (value >= low && value <= high) : (value >= low || value <= high);
}
function weekdayRange() {
  var a = __vigilArgs(arguments);
  var today = a.gmt ? a.now.getUTCDay() : a.now.getDay();
  var first = __vigilDays.indexOf(String(a.list[0]).toUpperCase());
  if (first < 0) return false;
  if (a.list.length < 2) return today === first;
  var last = __vigilDays.indexOf(String(a.list[1]).toUpperCase());
  return last >= 0 && __vigilInRange(today, first, last);
}
// Each argument is a day (1-31), a month name or a year (four digits).
function dateRange() {
  var a = __vigilArgs(arguments);
  var d = a.now;
  var now = { day: a.gmt ? d.getUTCDate() : d.getDate(), month: a.gmt ? d.getUTCMonth() : d.getMonth(),
              year: a.gmt ? d.getUTCFullYear() : d.getFullYear() };
  function field(value) {
    var month = __vigilMonths.indexOf(String(value).toUpperCase());
    if (month >= 0) return { kind: 'month', value: month };
    var n = Number(value);
    if (isNaN(n)) return null;
    return n > 31 ? { kind: 'year', value: n } : { kind: 'day', value: n };
  }
  var fields = [];
  for (var i = 0; i < a.list.length; i++) {
    var f = field(a.list[i]);
    if (f === null) return false;
    fields.push(f);
  }
  if (fields.length === 1) return now[fields[0].kind] === fields[0].value;
  if (fields.length % 2 !== 0 || fields.length > 6) return false;
  var half = fields.length / 2;
  // A point is compared as year*10000 + month*100 + day over the fields given.
  function key(list, source) {
    var k = 0;
    var order = ['year', 'month', 'day'];
    for (var o = 0; o < order.length; o++) {
      for (var j = 0; j < list.length; j++) {
        if (list[j].kind === order[o]) k = k * 100 + (source ? source[order[o]] : list[j].value);
      }
    }
    return k;
  }
  var low = fields.slice(0, half), high = fields.slice(half);
  for (var j = 0; j < half; j++) if (low[j].kind !== high[j].kind) return false;
  return __vigilInRange(key(low, now), key(low), key(high));
}
function timeRange() {
  var a = __vigilArgs(arguments);
  var d = a.now;
  var h = a.gmt ? d.getUTCHours() : d.getHours();
  var m = a.gmt ? d.getUTCMinutes() : d.getMinutes();
  var s = a.gmt ? d.getUTCSeconds() : d.getSeconds();
  var n = a.list.map(Number);
  for (var i = 0; i < n.length; i++) if (isNaN(n[i])) return false;
  if (n.length === 1) return h === n[0];
  if (n.length === 2) return n[0] <= n[1] ? (h >= n[0] && h < n[1]) : (h >= n[0] || h < n[1]);
  var now = h * 3600 + m * 60 + s;
  if (n.length === 4) return __vigilInRange(now, n[0] * 3600 + n[1] * 60, n[2] * 3600 + n[3] * 60 + 59);
  if (n.length === 6) return __vigilInRange(now, n[0] * 3600 + n[1] * 60 + n[2], n[3] * 3600 + n[4] * 60 + n[5]);
  return false;
}
)JS";

std::optional<std::string> system_resolve(const std::string& host) {
  addrinfo hints{};
  hints.ai_family = AF_INET;
  addrinfo* found = nullptr;
  if (::getaddrinfo(host.c_str(), nullptr, &hints, &found) != 0 || found == nullptr) return std::nullopt;
  char text[INET_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(found->ai_addr)->sin_addr, text, sizeof(text));
  ::freeaddrinfo(found);
  return std::string(text);
}

[[noreturn]] void fatal(void*, const char* message) {
  std::fprintf(stderr, "PAC engine failure: %s\n", message != nullptr ? message : "unknown");
  std::_Exit(3);
}

const PacContext& context_of(duk_context* ctx) {
  duk_push_global_stash(ctx);
  duk_get_prop_string(ctx, -1, "vigilContext");
  auto* context = static_cast<const PacContext*>(duk_get_pointer(ctx, -1));
  duk_pop_2(ctx);
  return *context;
}

duk_ret_t dns_resolve(duk_context* ctx) {
  std::string host = duk_safe_to_string(ctx, 0);
  const PacContext& context = context_of(ctx);
  auto address = context.resolve ? context.resolve(host) : system_resolve(host);
  if (address) {
    duk_push_string(ctx, address->c_str());
  } else {
    duk_push_null(ctx);
  }
  return 1;
}

duk_ret_t my_ip_address(duk_context* ctx) {
  duk_push_string(ctx, context_of(ctx).my_ip.c_str());
  return 1;
}

duk_ret_t alert(duk_context*) {
  return 0;
}

std::string error_of(duk_context* ctx) {
  std::string text = duk_safe_to_string(ctx, -1);
  duk_pop(ctx);
  return text.substr(0, 300);
}

}  // namespace

Result<std::string> find_proxy_for_url(std::string_view script, const std::string& url, const std::string& host,
                                       const PacContext& context) {
  std::unique_ptr<duk_context, decltype(&duk_destroy_heap)> heap(
      duk_create_heap(nullptr, nullptr, nullptr, nullptr, fatal), duk_destroy_heap);
  duk_context* ctx = heap.get();
  if (ctx == nullptr) return Error{"cannot start the JavaScript engine"};
  duk_push_global_stash(ctx);
  duk_push_pointer(ctx, const_cast<PacContext*>(&context));
  duk_put_prop_string(ctx, -2, "vigilContext");
  duk_pop(ctx);
  struct Native {
    const char* name;
    duk_c_function function;
    duk_idx_t arguments;
  };
  for (const Native& native : {Native{"dnsResolve", dns_resolve, 1}, Native{"myIpAddress", my_ip_address, 0},
                               Native{"alert", alert, DUK_VARARGS}}) {
    duk_push_c_function(ctx, native.function, native.arguments);
    duk_put_global_string(ctx, native.name);
  }
  if (duk_peval_string(ctx, kHelpers) != 0) return Error{"PAC helpers failed to load: " + error_of(ctx)};
  duk_pop(ctx);
  if (duk_peval_lstring(ctx, script.data(), script.size()) != 0) return Error{"the PAC script fails: " + error_of(ctx)};
  duk_pop(ctx);
  if (!duk_get_global_string(ctx, "FindProxyForURL") || !duk_is_function(ctx, -1)) {
    return Error{"the PAC script defines no function FindProxyForURL(url, host)"};
  }
  duk_push_string(ctx, url.c_str());
  duk_push_string(ctx, host.c_str());
  if (duk_pcall(ctx, 2) != 0) return Error{"FindProxyForURL threw: " + error_of(ctx)};
  if (duk_is_null_or_undefined(ctx, -1)) return std::string();
  if (!duk_is_string(ctx, -1)) return Error{"FindProxyForURL returned something other than a string"};
  std::string result = duk_get_string(ctx, -1);
  return result;
}

}  // namespace vigil::proxy
