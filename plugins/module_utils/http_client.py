# Copyright: (c) 2026, konnect.devportal contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One HTTP session per module run: TLS options, timeouts and bounded retries.

FOR INTERNAL COLLECTION USE ONLY: this API may change without notice.

Retries cover 429, 502, 503, 504 and connection errors, with exponential
backoff that honours ``Retry-After`` (seconds or an HTTP date) and
``ratelimit-reset``. A write whose reply was lost is never blindly repeated:
unless the caller says the request is safe to repeat, ``ResponseLost`` is
raised so the caller can re-read first.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import email.utils
import random
import time

try:
    import requests

    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - reported by the module
    requests = None
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = exc

USER_AGENT = "konnect.devportal/0.1.0 (+ansible)"
RETRY_STATUSES = (429, 502, 503, 504)
IDEMPOTENT_METHODS = ("GET", "HEAD", "OPTIONS", "PUT", "DELETE")


class ApiError(Exception):
    """A failed API call, described in one line without secrets."""

    def __init__(self, message, status=None, code=None, request_id=None, response=None):
        super(ApiError, self).__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.request_id = request_id
        self.response = response

    def __str__(self):
        return self.message


class ResponseLost(ApiError):
    """The request may have been applied, but its reply never arrived."""


class HttpClient:
    """A ``requests.Session`` with the collection's TLS, timeout and retry policy.

    ``describe_error(response)`` turns an error response into
    ``(code, message, request_id)`` in the API's own terms; each API client
    passes its own.
    """

    def __init__(
        self,
        base_url,
        validate_certs=True,
        ca_path=None,
        timeout=30,
        max_retries=6,
        backoff=0.5,
        max_wait=60,
        describe_error=None,
        sleep=time.sleep,
    ):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_wait = max_wait
        self.describe_error = describe_error or _describe_plain
        self.sleep = sleep
        self.session = requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        # passed with every request: requests lets REQUESTS_CA_BUNDLE override session.verify
        self.verify = (ca_path or True) if validate_certs else False
        self.request_count = 0

    def fork(self):
        """A client with the same settings and headers on a session of its own (for another thread)."""
        clone = HttpClient(
            self.base_url,
            timeout=self.timeout,
            max_retries=self.max_retries,
            backoff=self.backoff,
            max_wait=self.max_wait,
            describe_error=self.describe_error,
            sleep=self.sleep,
        )
        clone.verify = self.verify
        clone.session.headers.update(self.session.headers)
        return clone

    def url(self, path):
        if path.startswith("https://") or path.startswith("http://"):
            return path
        return self.base_url + path

    def request(self, method, path, expect=(200,), retry_lost=None, retry_on=None, **kwargs):
        """Send one request with retries; return the ``requests.Response``.

        ``expect``: the statuses that are success (others raise ``ApiError``).
        ``retry_lost``: repeat the request when its reply is lost (default:
        only for idempotent methods). ``retry_on(response)``: extra statuses
        to retry, such as Graph's replication errors right after a create.
        """
        method = method.upper()
        if retry_lost is None:
            retry_lost = method in IDEMPOTENT_METHODS
        url = self.url(path)
        kwargs.setdefault("timeout", self.timeout)
        kwargs.setdefault("verify", self.verify)
        attempt = 0
        while True:
            attempt += 1
            try:
                self.request_count += 1
                response = self.session.request(method, url, **kwargs)
            except requests.exceptions.SSLError as exc:
                raise ApiError(
                    "TLS verification failed for %s: %s. Trust the server's CA with ca_path (or REQUESTS_CA_BUNDLE), "
                    "or set validate_certs=false only for a test endpoint" % (_host(url), _reason(exc))
                ) from None
            except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
                sent = not _never_sent(exc)
                if sent and not retry_lost:
                    raise ResponseLost(
                        "%s %s: the reply was lost (%s); the request may have been applied"
                        % (method, _path(url), _reason(exc))
                    ) from None
                if attempt > self.max_retries:
                    raise ApiError(
                        "%s %s failed after %d attempts: %s. Check the URL and the network"
                        % (method, _path(url), attempt, _reason(exc))
                    ) from None
                self.sleep(self._backoff(attempt))
                continue
            if response.status_code in expect:
                return response
            retryable = response.status_code in RETRY_STATUSES or bool(retry_on and retry_on(response))
            if retryable and attempt <= self.max_retries:
                self.sleep(self._wait(response, attempt))
                continue
            raise self.error(method, url, response)

    def error(self, method, url, response):
        code, message, request_id = self.describe_error(response)
        text = "%s %s: HTTP %d" % (method, _path(url), response.status_code)
        if code:
            text += " %s" % code
        if message:
            text += ": %s" % message
        if request_id:
            text += " (request id %s)" % request_id
        return ApiError(text, status=response.status_code, code=code, request_id=request_id, response=response)

    def _backoff(self, attempt):
        base = min(self.max_wait, self.backoff * (2 ** (attempt - 1)))
        return base * random.uniform(0.75, 1.25)

    def _wait(self, response, attempt):
        """Seconds to wait before retrying: the server's word first."""
        for header in ("Retry-After", "ratelimit-reset", "x-ratelimit-reset"):
            value = response.headers.get(header)
            if value is None:
                continue
            seconds = _parse_retry_after(value)
            if seconds is not None:
                return min(self.max_wait, max(0.0, seconds))
        return self._backoff(attempt)


def poll(attempt, timeout, sleep=None, clock=None, first_delay=1.0, max_delay=8.0):
    """Call ATTEMPT, which returns ``(value, done)``, until done or TIMEOUT seconds have passed.

    Returns ``(value, seconds waited)`` of the last attempt. For what no request can hurry,
    such as Entra ID's replication of a new credential.
    """
    sleep = sleep or time.sleep
    clock = clock or time.monotonic
    start = clock()
    delay = first_delay
    while True:
        value, done = attempt()
        remaining = start + timeout - clock()
        if done or remaining <= 0:
            return value, clock() - start
        sleep(min(delay, remaining))
        delay = min(delay * 2, max_delay)


def _parse_retry_after(value):
    value = value.strip()
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return when.timestamp() - time.time()


def _never_sent(exc):
    """True when the connection failed before the request went out."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    text = repr(exc)
    return "NewConnectionError" in text or "Connection refused" in text or "Name or service not known" in text


def _describe_plain(response):
    try:
        body = response.json()
    except ValueError:
        return None, (response.text or "")[:200] or response.reason, None
    if isinstance(body, dict):
        return None, body.get("message") or body.get("detail") or response.reason, None
    return None, response.reason, None


def _host(url):
    return url.split("/")[2] if "://" in url else url


def _path(url):
    if "://" in url:
        rest = url.split("/", 3)
        return "/" + (rest[3] if len(rest) > 3 else "")
    return url


def _reason(exc):
    text = str(exc)
    # keep it to one line: urllib3 nests the cause in the message
    for marker in ("Caused by ", "(Caused by"):
        if marker in text:
            text = text.split(marker, 1)[1]
    return text.strip("() ").splitlines()[0][:300] if text else type(exc).__name__
