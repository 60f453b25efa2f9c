/* SPDX-License-Identifier: MIT */
/* Health checks: HTTP through libcurl (the only file that includes curl.h), TCP connects, and
 * commands through spawn. One attempt is health_check_once(); health_check() retries it against
 * a deadline on the monotonic clock, and health_check_all() runs several side by side.
 * health_spec_parse() lives in health-spec.c. */
#include "health.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <dlfcn.h>

#include "spawn.h"
#include "util.h"

#define HEALTH_BODY_MAX 4096 /* what we keep of a response body */
#define HEALTH_EXCERPT 200   /* what of it goes into the detail */
#define HEALTH_ATTEMPT_MAX_NS (10LL * 1000000000LL)
#define HEALTH_ATTEMPT_MIN_NS (50LL * 1000000LL)
#define HEALTH_INTERVAL_DEFAULT_NS (250LL * 1000000LL)
#define HEALTH_CANCEL_POLL_NS (50LL * 1000000LL) /* how often a wait looks at the cancel flag */

/* libcurl is loaded when the first HTTP check runs, not when shiplog starts: linking it pulls in
 * some forty libraries (TLS, Kerberos, LDAP...) whose loading and constructors cost ~5 ms on
 * every command, also the reads that never check anything. */
#define HEALTH_LIBCURL SHIPLOG_LIBCURL_SONAME

static struct {
	CURLcode (*global_init)(long flags);
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *c, CURLoption opt, ...);
	CURLcode (*easy_perform)(CURL *c);
	CURLcode (*easy_getinfo)(CURL *c, CURLINFO info, ...);
	void (*easy_cleanup)(CURL *c);
	const char *(*easy_strerror)(CURLcode cc);
} curl;

static pthread_once_t health_curl_once = PTHREAD_ONCE_INIT;
static CURLcode health_curl_init_rc;
static char health_curl_load_error[256];

static void health_curl_init(void)
{
	void *h = dlopen(HEALTH_LIBCURL, RTLD_NOW | RTLD_LOCAL);

	if (h) {
		*(void **)&curl.global_init = dlsym(h, "curl_global_init");
		*(void **)&curl.easy_init = dlsym(h, "curl_easy_init");
		*(void **)&curl.easy_setopt = dlsym(h, "curl_easy_setopt");
		*(void **)&curl.easy_perform = dlsym(h, "curl_easy_perform");
		*(void **)&curl.easy_getinfo = dlsym(h, "curl_easy_getinfo");
		*(void **)&curl.easy_cleanup = dlsym(h, "curl_easy_cleanup");
		*(void **)&curl.easy_strerror = dlsym(h, "curl_easy_strerror");
	}
	if (!h || !curl.global_init || !curl.easy_init || !curl.easy_setopt || !curl.easy_perform ||
	    !curl.easy_getinfo || !curl.easy_cleanup || !curl.easy_strerror) {
		snprintf(health_curl_load_error, sizeof(health_curl_load_error),
			 "cannot load %s (%s); install the libcurl4 package", HEALTH_LIBCURL,
			 dlerror());
		health_curl_init_rc = CURLE_FAILED_INIT;
		return;
	}
	health_curl_init_rc = curl.global_init(CURL_GLOBAL_DEFAULT);
}

/* Appends s to b with control characters and backslashes escaped, at most max source bytes. */
static void health_escape(struct buf *b, const char *s, size_t len, size_t max)
{
	for (size_t i = 0; i < len && i < max; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\n')
			buf_append(b, "\\n", 2);
		else if (c == '\r')
			buf_append(b, "\\r", 2);
		else if (c == '\t')
			buf_append(b, "\\t", 2);
		else if (c == '\\')
			buf_append(b, "\\\\", 2);
		else if (c < 0x20 || c == 0x7f)
			buf_printf(b, "\\x%02x", c);
		else
			buf_append(b, &s[i], 1);
	}
	if (len > max)
		buf_append(b, "...", 3);
}

static void health_detail_set(struct health_result *res, struct buf *b)
{
	strlcpy_(res->detail, b->data ? b->data : "", sizeof(res->detail));
	buf_free(b);
}

struct health_body {
	char data[HEALTH_BODY_MAX];
	size_t len;
};

static size_t health_body_write(char *p, size_t size, size_t nmemb, void *userdata)
{
	struct health_body *body = userdata;
	size_t n = size * nmemb, room = sizeof(body->data) - body->len;

	memcpy(body->data + body->len, p, n < room ? n : room);
	body->len += n < room ? n : room;
	return n; /* keep reading (and discarding) so the status is not an error */
}

/* Health targets are mostly local services: never send those through a proxy. curl copies
 * the string. */
static void health_noproxy(char *list, size_t n)
{
	const char *env = getenv("no_proxy");

	if (!env || !*env)
		env = getenv("NO_PROXY");
	snprintf(list, n, "127.0.0.1,localhost,::1%s%s", env && *env ? "," : "",
		 env && *env ? env : "");
}

/* A transfer in flight stops when its check is cancelled (curl calls this at least once a
 * second, and on every socket event). */
static int health_xferinfo(void *p, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
			   curl_off_t ulnow)
{
	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	return *(volatile sig_atomic_t *)p != 0;
}

static int health_http(const struct health_spec *h, int64_t timeout_ns, struct health_result *res,
		       volatile sig_atomic_t *cancel)
{
	char errbuf[CURL_ERROR_SIZE] = "", noproxy[1024];
	struct health_body body = {0};
	bool head = h->kind == HEALTH_HTTP_HEAD;
	long timeout_ms = (long)(timeout_ns / 1000000), code = 0;
	struct buf d = {0};
	CURLcode cc;
	CURL *c;

	pthread_once(&health_curl_once, health_curl_init);
	if (health_curl_init_rc != CURLE_OK) {
		snprintf(res->detail, sizeof(res->detail), "curl: %s",
			 health_curl_load_error[0] ? health_curl_load_error
						   : curl.easy_strerror(health_curl_init_rc));
		return SL_EENV;
	}
	c = curl.easy_init();
	if (!c)
		return -ENOMEM;
	if (timeout_ms < 1)
		timeout_ms = 1;
	curl.easy_setopt(c, CURLOPT_URL, h->target);
	curl.easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl.easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl.easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl.easy_setopt(c, CURLOPT_USERAGENT, "shiplog/" SHIPLOG_VERSION);
	curl.easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl.easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
	curl.easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	health_noproxy(noproxy, sizeof(noproxy));
	curl.easy_setopt(c, CURLOPT_NOPROXY, noproxy);
	curl.easy_setopt(c, CURLOPT_WRITEFUNCTION, health_body_write);
	curl.easy_setopt(c, CURLOPT_WRITEDATA, &body);
	if (head)
		curl.easy_setopt(c, CURLOPT_NOBODY, 1L);
	if (cancel) {
		curl.easy_setopt(c, CURLOPT_XFERINFOFUNCTION, health_xferinfo);
		curl.easy_setopt(c, CURLOPT_XFERINFODATA, (void *)cancel);
		curl.easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	}

	cc = curl.easy_perform(c);
	if (cc == CURLE_OK)
		curl.easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl.easy_cleanup(c);

	if (cc != CURLE_OK) {
		buf_printf(&d, "%s %s: %s", head ? "HEAD" : "GET", h->target,
			   errbuf[0] ? errbuf : curl.easy_strerror(cc));
		health_detail_set(res, &d);
		res->ok = false;
		return 0;
	}
	res->http_status = (int)code;
	if (head)
		res->ok = code >= 200 && code < 400;
	else if (h->expect_status > 0)
		res->ok = code == h->expect_status;
	else
		res->ok = code >= 200 && code < 400;

	buf_printf(&d, "HTTP %ld", code);
	if (!res->ok && !head && h->expect_status > 0)
		buf_printf(&d, " (expected %d)", h->expect_status);
	/* the body's closing newline is not worth a "\n" at the end of every message */
	while (body.len > 0 && (body.data[body.len - 1] == '\n' || body.data[body.len - 1] == '\r'))
		body.len--;
	if (body.len > 0) {
		buf_append(&d, ": ", 2);
		health_escape(&d, body.data, body.len, HEALTH_EXCERPT);
	}
	health_detail_set(res, &d);
	return 0;
}

/* Splits "HOST:PORT" or "[V6]:PORT". */
static int health_hostport(const char *target, char *host, size_t hostlen, char *port,
			   size_t portlen)
{
	const char *colon;

	if (target[0] == '[') {
		const char *close = strchr(target, ']');

		if (!close || close[1] != ':')
			return -EINVAL;
		if ((size_t)(close - target - 1) >= hostlen)
			return -EINVAL;
		snprintf(host, hostlen, "%.*s", (int)(close - target - 1), target + 1);
		colon = close + 1;
	} else {
		colon = strrchr(target, ':');
		if (!colon || colon == target || (size_t)(colon - target) >= hostlen)
			return -EINVAL;
		snprintf(host, hostlen, "%.*s", (int)(colon - target), target);
	}
	if (!colon[1] || strlen(colon + 1) >= portlen ||
	    strspn(colon + 1, "0123456789") != strlen(colon + 1))
		return -EINVAL;
	strlcpy_(port, colon + 1, portlen);
	return 0;
}

/* One connect against a deadline; 0 or -errno (-ECANCELED when *cancel became non-zero). */
static int health_connect_one(const struct addrinfo *ai, int64_t deadline,
			      volatile sig_atomic_t *cancel)
{
	_cleanup_close_ int fd = -1;
	socklen_t len = sizeof(int);
	int err = 0;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
	if (fd < 0)
		return -errno;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return 0;
	if (errno != EINPROGRESS)
		return -errno;
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLOUT};
		int64_t left = deadline - mono_ns();
		int r;

		if (left <= 0)
			return -ETIMEDOUT;
		if (cancel && *cancel)
			return -ECANCELED;
		if (cancel && left > HEALTH_CANCEL_POLL_NS)
			left = HEALTH_CANCEL_POLL_NS;
		r = poll(&p, 1, (int)((left + 999999) / 1000000));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			continue; /* the deadline or the cancel flag, at the top */
		break;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		return -errno;
	return err ? -err : 0;
}

static int health_tcp(const struct health_spec *h, int64_t timeout_ns, struct health_result *res,
		      volatile sig_atomic_t *cancel)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_ADDRCONFIG};
	struct addrinfo *ai = NULL;
	char host[256], port[16];
	int64_t deadline = mono_ns() + timeout_ns;
	int r, last = -ECONNREFUSED;

	if (health_hostport(h->target, host, sizeof(host), port, sizeof(port)) < 0) {
		snprintf(res->detail, sizeof(res->detail), "tcp '%s': not HOST:PORT", h->target);
		return -EINVAL;
	}
	r = getaddrinfo(host, port, &hints, &ai);
	if (r != 0) {
		snprintf(res->detail, sizeof(res->detail), "resolve '%s': %s", host,
			 r == EAI_SYSTEM ? strerror(errno) : gai_strerror(r));
		res->ok = false;
		return 0;
	}
	for (struct addrinfo *a = ai; a; a = a->ai_next) {
		last = health_connect_one(a, deadline, cancel);
		if (last == 0 || last == -ETIMEDOUT || last == -ECANCELED)
			break;
	}
	freeaddrinfo(ai);
	res->ok = last == 0;
	if (res->ok)
		snprintf(res->detail, sizeof(res->detail), "connected to %s", h->target);
	else
		snprintf(res->detail, sizeof(res->detail), "connect %s: %s", h->target,
			 strerror(-last));
	return 0;
}

/* The last non-empty line of s, escaped. */
static void health_last_line(struct buf *d, const char *s, size_t len)
{
	size_t end = len, start;

	while (end > 0 && (s[end - 1] == '\n' || s[end - 1] == '\r' || s[end - 1] == ' ' ||
			   s[end - 1] == '\t'))
		end--;
	start = end;
	while (start > 0 && s[start - 1] != '\n')
		start--;
	health_escape(d, s + start, end - start, HEALTH_EXCERPT);
}

static int health_cmd(const struct health_spec *h, int64_t timeout_ns, const char *cwd,
		      struct health_result *res, volatile sig_atomic_t *cancel)
{
	/* with a cancel flag, the command runs in a group of its own and is stopped with it */
	struct spawn_opts o = {
	    .cwd = cwd, .capture = true, .timeout_ns = timeout_ns, .abort_flag = cancel};
	struct spawn_result sr;
	struct buf d = {0};
	int r;

	if (h->argv.n == 0 || !h->argv.v) {
		snprintf(res->detail, sizeof(res->detail), "cmd: empty command");
		return -EINVAL;
	}
	r = spawn_run(h->argv.v, &o, &sr);
	if (r < 0) {
		snprintf(res->detail, sizeof(res->detail), "cmd '%s': %s", h->argv.v[0],
			 r == -ENOENT ? "not found" : strerror(-r));
		res->ok = false;
		spawn_result_release(&sr);
		return 0;
	}
	res->ok = sr.exit_code == 0 && !sr.timed_out;
	if (sr.timed_out) {
		char dur[32];

		format_duration(timeout_ns, dur, sizeof(dur));
		buf_printf(&d, "timed out after %s", dur);
	} else if (sr.exit_code != 0) {
		buf_printf(&d, "exit %d", sr.exit_code);
	}
	if (sr.output && sr.output_len) {
		struct buf line = {0};

		health_last_line(&line, sr.output, sr.output_len);
		if (line.len) {
			if (d.len)
				buf_append(&d, ": ", 2);
			buf_append(&d, line.data, line.len);
		}
		buf_free(&line);
	}
	if (!d.len)
		buf_printf(&d, "exit %d", sr.exit_code);
	health_detail_set(res, &d);
	spawn_result_release(&sr);
	return 0;
}

static int health_attempt(const struct health_spec *h, int64_t attempt_timeout_ns, const char *cwd,
			  struct health_result *res, volatile sig_atomic_t *cancel)
{
	int64_t start = mono_ns();
	int r;

	*res = (struct health_result){.attempts = 1};
	if (attempt_timeout_ns <= 0)
		attempt_timeout_ns = HEALTH_ATTEMPT_MAX_NS;
	switch (h->kind) {
	case HEALTH_HTTP_GET:
	case HEALTH_HTTP_HEAD:
		r = health_http(h, attempt_timeout_ns, res, cancel);
		break;
	case HEALTH_TCP:
		r = health_tcp(h, attempt_timeout_ns, res, cancel);
		break;
	case HEALTH_CMD:
		r = health_cmd(h, attempt_timeout_ns, cwd, res, cancel);
		break;
	default:
		snprintf(res->detail, sizeof(res->detail), "unknown health check kind %d", h->kind);
		r = -EINVAL;
	}
	res->latency_ns = mono_ns() - start;
	if (r < 0)
		res->ok = false;
	return r;
}

int health_check_once(const struct health_spec *h, int64_t attempt_timeout_ns, const char *cwd,
		      struct health_result *res)
{
	return health_attempt(h, attempt_timeout_ns, cwd, res, NULL);
}

/* Sleeps until when, or (in slices) until *cancel becomes non-zero. */
static void health_sleep_until(int64_t when, volatile sig_atomic_t *cancel)
{
	for (;;) {
		int64_t left = when - mono_ns();
		struct timespec ts;

		if (left <= 0 || (cancel && *cancel))
			return;
		if (cancel && left > HEALTH_CANCEL_POLL_NS)
			left = HEALTH_CANCEL_POLL_NS;
		ts = (struct timespec){.tv_sec = left / 1000000000, .tv_nsec = left % 1000000000};
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
	}
}

static int health_check_until(const struct health_spec *h, int64_t timeout_ns, int64_t interval_ns,
			      const char *cwd, struct health_result *res,
			      volatile sig_atomic_t *cancel)
{
	int64_t deadline = mono_ns() + (timeout_ns > 0 ? timeout_ns : 0);
	uint32_t attempts = 0;
	struct health_result cur;
	int r;

	if (interval_ns <= 0)
		interval_ns = HEALTH_INTERVAL_DEFAULT_NS;
	*res = (struct health_result){0};
	for (;;) {
		int64_t left = deadline - mono_ns(), attempt = left;

		/* A command gets all the time there is; a probe no more than 10 s, so that one
		 * hung connection does not use up the whole window. */
		if (h->kind != HEALTH_CMD && attempt > HEALTH_ATTEMPT_MAX_NS)
			attempt = HEALTH_ATTEMPT_MAX_NS;
		if (attempt < HEALTH_ATTEMPT_MIN_NS)
			attempt = HEALTH_ATTEMPT_MIN_NS;
		if (cancel && *cancel)
			break;
		r = health_attempt(h, attempt, cwd, &cur, cancel);
		if (cancel && *cancel && !cur.ok && r >= 0)
			break; /* an attempt cut off in flight says nothing: keep the last whole one
				*/
		*res = cur;
		res->attempts = ++attempts;
		if (r < 0)
			return r; /* a bad spec does not get better by retrying */
		if (res->ok)
			return 0;
		if (mono_ns() + interval_ns >= deadline)
			return 0;
		health_sleep_until(mono_ns() + interval_ns, cancel);
	}
	res->cut_short = true;
	res->ok = false;
	if (!attempts)
		snprintf(res->detail, sizeof(res->detail), "no attempt finished");
	return 0;
}

int health_check(const struct health_spec *h, int64_t timeout_ns, int64_t interval_ns,
		 const char *cwd, struct health_result *res)
{
	return health_check_until(h, timeout_ns, interval_ns, cwd, res, NULL);
}

struct health_group {
	struct health_job *jobs;
	int64_t timeout_ns, interval_ns;
	const char *cwd;
	volatile sig_atomic_t cancel; /* set by the first job that fails for good, or on *stop */
	volatile sig_atomic_t running;
	pthread_mutex_t mu;
};

struct health_worker {
	struct health_group *g;
	size_t i;
};

static void health_job_run(struct health_group *g, size_t i)
{
	struct health_job *j = &g->jobs[i];

	j->rc =
	    health_check_until(j->spec, g->timeout_ns, g->interval_ns, g->cwd, &j->res, &g->cancel);
	j->ended_ns = mono_ns();
	if (j->rc < 0 || (!j->res.ok && !j->res.cut_short))
		g->cancel = 1; /* the verify has failed: the others need not finish */
	pthread_mutex_lock(&g->mu);
	g->running--;
	pthread_mutex_unlock(&g->mu);
}

static void *health_worker_main(void *p)
{
	struct health_worker *w = p;

	health_job_run(w->g, w->i);
	return NULL;
}

int health_check_all(struct health_job *jobs, size_t n, int64_t timeout_ns, int64_t interval_ns,
		     const char *cwd, volatile sig_atomic_t *stop)
{
	struct health_group g = {
	    .jobs = jobs, .timeout_ns = timeout_ns, .interval_ns = interval_ns, .cwd = cwd};
	struct health_worker *w = xcalloc(n ? n : 1, sizeof(*w));
	pthread_t *tid = xcalloc(n ? n : 1, sizeof(*tid));
	bool *started = xcalloc(n ? n : 1, sizeof(*started));
	sigset_t all, old;

	pthread_mutex_init(&g.mu, NULL);
	for (size_t i = 0; i < n; i++)
		jobs[i].res = (struct health_result){0};
	/* the workers block every signal: SIGINT/SIGTERM reach the calling thread, which passes
	 * them on through *stop */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (size_t i = 0; i < n; i++) {
		w[i] = (struct health_worker){.g = &g, .i = i};
		pthread_mutex_lock(&g.mu);
		g.running++;
		pthread_mutex_unlock(&g.mu);
		started[i] = pthread_create(&tid[i], NULL, health_worker_main, &w[i]) == 0;
		if (!started[i]) {
			pthread_mutex_lock(&g.mu);
			g.running--;
			pthread_mutex_unlock(&g.mu);
		}
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	/* a job without a thread of its own runs here, after the others have started */
	for (size_t i = 0; i < n; i++)
		if (!started[i])
			health_job_run(&g, i);
	for (;;) {
		sig_atomic_t left;

		pthread_mutex_lock(&g.mu);
		left = g.running;
		pthread_mutex_unlock(&g.mu);
		if (!left)
			break;
		if (stop && *stop)
			g.cancel = 1;
		health_sleep_until(mono_ns() + HEALTH_CANCEL_POLL_NS / 5, NULL);
	}
	for (size_t i = 0; i < n; i++)
		if (started[i])
			pthread_join(tid[i], NULL);
	pthread_mutex_destroy(&g.mu);
	free(started);
	free(tid);
	free(w);
	return 0;
}
