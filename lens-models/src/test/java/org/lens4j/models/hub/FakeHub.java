package org.lens4j.models.hub;

import com.sun.net.httpserver.Headers;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * A Hugging Face hub on 127.0.0.1 for tests, with the hub's URL layout and headers: HEAD/GET
 * {@code /{repo}/resolve/{revision}/{file}} (regular files answered directly with the git blob
 * sha1 as ETag; LFS files with a 302 to a second server, the "CDN", carrying {@code X-Linked-Etag}
 * = sha256 and {@code X-Linked-Size}), {@code /api/models/{repo}/revision/{revision}}, range
 * requests, and switches for the failures the client must survive. Every request is recorded.
 */
public final class FakeHub implements AutoCloseable {

  /** The commit every revision of every repo resolves to. */
  public static final String COMMIT = "4f1c9e0a7b2d3c5e6f708192a3b4c5d6e7f80912";

  /** One recorded request. */
  public record Request(String server, String method, String path, String range, String authorization) {}

  private record Entry(byte[] content, boolean lfs, String sha256) {}

  private static final Pattern RESOLVE = Pattern.compile("/(.+)/resolve/([^/]+)/(.+)");
  private static final Pattern MODEL_INFO = Pattern.compile("/api/models/(.+)/revision/([^/]+)");
  private static final Pattern RANGE = Pattern.compile("bytes=(\\d+)-");

  private final HttpServer hub;
  private final HttpServer cdn;
  private final ExecutorService threads = Executors.newCachedThreadPool();
  private final Map<String, Entry> files = new LinkedHashMap<>();
  private final List<Request> requests = new ArrayList<>();
  private final CountDownLatch closing = new CountDownLatch(1);

  private volatile String requiredToken;
  private volatile boolean ignoreRange;
  private volatile boolean corrupt;
  private volatile boolean omitRepoCommit;
  private final AtomicBoolean closed = new AtomicBoolean();
  private volatile String modelInfoBody;
  private volatile String lfsBase;
  private volatile int forcedStatus = -1;
  private volatile int dropNextBodyAfter = -1;
  private volatile int stallNextBodyAfter = -1;

  /** Starts the hub and its "CDN" on ephemeral ports of 127.0.0.1. */
  public FakeHub() throws IOException {
    InetSocketAddress loopback = new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);
    hub = HttpServer.create(loopback, 0);
    cdn = HttpServer.create(loopback, 0);
    hub.createContext("/", this::handleHub);
    cdn.createContext("/", this::handleCdn);
    hub.setExecutor(threads);
    cdn.setExecutor(threads);
    hub.start();
    cdn.start();
  }

  /** @return the hub's base URL, for {@code HF_ENDPOINT} */
  public String endpoint() {
    return "http://127.0.0.1:" + hub.getAddress().getPort();
  }

  /** Adds a file; LFS files are served from the CDN server through a redirect. */
  public FakeHub add(String repoId, String filename, byte[] content, boolean lfs) {
    synchronized (files) {
      files.put(repoId + "/" + filename, new Entry(content, lfs, sha256(content)));
    }
    return this;
  }

  /** Requires {@code Authorization: Bearer token} on hub requests (a gated repo). */
  FakeHub requireToken(String token) {
    this.requiredToken = token;
    return this;
  }

  /** Answers range requests with the whole file (200), as some servers do. */
  FakeHub ignoreRange(boolean ignore) {
    this.ignoreRange = ignore;
    return this;
  }

  /** Serves wrong bytes (first byte flipped) for every file body. */
  FakeHub corrupt(boolean corruptBodies) {
    this.corrupt = corruptBodies;
    return this;
  }

  /** Leaves out {@code X-Repo-Commit}, as a server that is not a hub would. */
  FakeHub omitRepoCommit(boolean omit) {
    this.omitRepoCommit = omit;
    return this;
  }

  /** Redirects LFS files to {@code base + "/lfs/{sha256}"} instead of the CDN server. */
  FakeHub redirectLfsTo(String base) {
    this.lfsBase = base;
    return this;
  }

  /** Answers model-info requests with this body instead of the real JSON. */
  FakeHub modelInfoBody(String body) {
    this.modelInfoBody = body;
    return this;
  }

  /** Answers every hub request with this status (e.g. 500), or normally again when -1. */
  FakeHub forceStatus(int status) {
    this.forcedStatus = status;
    return this;
  }

  /** The next file body is cut off after this many bytes (the connection is closed). */
  FakeHub dropNextBodyAfter(int bytes) {
    this.dropNextBodyAfter = bytes;
    return this;
  }

  /** The next file body stops after this many bytes and the server then waits until closed. */
  FakeHub stallNextBodyAfter(int bytes) {
    this.stallNextBodyAfter = bytes;
    return this;
  }

  /** @return the requests received so far, both servers */
  public List<Request> requests() {
    synchronized (requests) {
      return List.copyOf(requests);
    }
  }

  /** @return how many requests were received so far, both servers */
  public int requestCount() {
    return requests().size();
  }

  /** Forgets the recorded requests. */
  public void clearRequests() {
    synchronized (requests) {
      requests.clear();
    }
  }

  /** @return the sha256 of the content, hex (an LFS file's ETag) */
  static String sha256(byte[] content) {
    return HexFormat.of().formatHex(digest("SHA-256", content));
  }

  /** @return the git blob sha1 of the content, hex (a regular file's ETag on the hub) */
  static String gitSha1(byte[] content) {
    byte[] header = ("blob " + content.length + "\0").getBytes(StandardCharsets.US_ASCII);
    byte[] all = new byte[header.length + content.length];
    System.arraycopy(header, 0, all, 0, header.length);
    System.arraycopy(content, 0, all, header.length, content.length);
    return HexFormat.of().formatHex(digest("SHA-1", all));
  }

  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    closing.countDown();
    hub.stop(0);
    cdn.stop(0);
    threads.shutdownNow();
    try {
      threads.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void handleHub(HttpExchange ex) throws IOException {
    try (ex) {
      record(ex, "hub");
      String path = ex.getRequestURI().getRawPath();
      if (requiredToken != null
          && !("Bearer " + requiredToken).equals(ex.getRequestHeaders().getFirst("Authorization"))) {
        ex.getResponseHeaders().set("X-Error-Code", "GatedRepo");
        ex.getResponseHeaders().set("X-Error-Message", "Access to this repo is restricted.");
        send(ex, 401, new byte[0]);
        return;
      }
      if (forcedStatus > 0) {
        ex.getResponseHeaders().set("X-Error-Message", "Something went wrong.");
        send(ex, forcedStatus, new byte[0]);
        return;
      }
      Matcher info = MODEL_INFO.matcher(path);
      if (info.matches()) {
        modelInfo(ex, info.group(1), decode(info.group(2)));
        return;
      }
      Matcher resolve = RESOLVE.matcher(path);
      if (!resolve.matches()) {
        send(ex, 404, new byte[0]);
        return;
      }
      String repoId = resolve.group(1);
      String revision = decode(resolve.group(2));
      if (!revision.equals("main") && !revision.equals(COMMIT)) {
        ex.getResponseHeaders().set("X-Error-Code", "RevisionNotFound");
        send(ex, 404, new byte[0]);
        return;
      }
      Entry entry;
      synchronized (files) {
        entry = files.get(repoId + "/" + decode(resolve.group(3)));
      }
      Headers headers = ex.getResponseHeaders();
      if (!omitRepoCommit) {
        headers.set("X-Repo-Commit", COMMIT);
      }
      if (entry == null) {
        headers.set("X-Error-Code", "EntryNotFound");
        send(ex, 404, new byte[0]);
      } else if (entry.lfs()) {
        String sha = entry.sha256();
        String base = lfsBase != null ? lfsBase : "http://127.0.0.1:" + cdn.getAddress().getPort();
        headers.set("Location", base + "/lfs/" + sha + "?sig=fake");
        headers.set("ETag", "\"" + sha + "\"");
        headers.set("X-Linked-Etag", "\"" + sha + "\"");
        headers.set("X-Linked-Size", Integer.toString(entry.content().length));
        send(ex, 302, new byte[0]);
      } else {
        headers.set("ETag", "\"" + gitSha1(entry.content()) + "\"");
        serveBody(ex, entry.content());
      }
    }
  }

  private void handleCdn(HttpExchange ex) throws IOException {
    try (ex) {
      record(ex, "cdn");
      String sha = ex.getRequestURI().getPath().replaceFirst("^/lfs/", "");
      Entry entry;
      synchronized (files) {
        entry = files.values().stream().filter(e -> e.lfs() && e.sha256().equals(sha))
            .findFirst().orElse(null);
      }
      if (entry == null) {
        send(ex, 404, new byte[0]);
      } else {
        serveBody(ex, entry.content());
      }
    }
  }

  private void modelInfo(HttpExchange ex, String repoId, String revision) throws IOException {
    List<String> names;
    synchronized (files) {
      names = files.keySet().stream().filter(k -> k.startsWith(repoId + "/"))
          .map(k -> k.substring(repoId.length() + 1)).collect(Collectors.toList());
    }
    if (names.isEmpty() || !(revision.equals("main") || revision.equals(COMMIT))) {
      ex.getResponseHeaders().set("X-Error-Code", names.isEmpty() ? "RepoNotFound" : "RevisionNotFound");
      send(ex, 404, new byte[0]);
      return;
    }
    String siblings = names.stream().map(n -> "{\"rfilename\":\"" + n + "\"}")
        .collect(Collectors.joining(","));
    String json = modelInfoBody != null ? modelInfoBody : "{\"id\":\"" + repoId + "\",\"sha\":\"" + COMMIT + "\",\"siblings\":[" + siblings + "]}";
    ex.getResponseHeaders().set("Content-Type", "application/json");
    send(ex, 200, json.getBytes(StandardCharsets.UTF_8));
  }

  /** Sends a file body, honouring {@code Range: bytes=N-} unless told not to. */
  private void serveBody(HttpExchange ex, byte[] content) throws IOException {
    byte[] body = content;
    if (corrupt && body.length > 0) {
      body = content.clone();
      body[0] ^= 0x55;
    }
    int start = 0;
    int status = 200;
    String range = ex.getRequestHeaders().getFirst("Range");
    Matcher m = range == null ? null : RANGE.matcher(range);
    if (m != null && m.matches() && !ignoreRange) {
      start = Integer.parseInt(m.group(1));
      if (start >= body.length) {
        ex.getResponseHeaders().set("Content-Range", "bytes */" + body.length);
        send(ex, 416, new byte[0]);
        return;
      }
      status = 206;
      ex.getResponseHeaders().set("Content-Range",
          "bytes " + start + "-" + (body.length - 1) + "/" + body.length);
    }
    int length = body.length - start;
    if (ex.getRequestMethod().equals("HEAD")) {
      ex.getResponseHeaders().set("Content-Length", Integer.toString(length));
      ex.sendResponseHeaders(status, -1);
      return;
    }
    int cut = dropNextBodyAfter >= 0 ? dropNextBodyAfter : stallNextBodyAfter;
    boolean stall = dropNextBodyAfter < 0 && stallNextBodyAfter >= 0;
    dropNextBodyAfter = -1;
    stallNextBodyAfter = -1;
    ex.sendResponseHeaders(status, length == 0 ? -1 : length);
    OutputStream out = ex.getResponseBody();
    if (cut < 0) {
      write(out, body, start, length);
      return;
    }
    write(out, body, start, Math.min(cut, length));
    out.flush();
    try {
      // Stalling waits until the test ends; dropping first lets the client take the bytes sent.
      closing.await(stall ? 30_000 : 300, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    // Closing with bytes missing makes the server drop the connection mid-body.
  }

  /** Writes in 1 MiB pieces: the JDK server buffers each write whole. */
  private static void write(OutputStream out, byte[] b, int offset, int length) throws IOException {
    for (int done = 0; done < length; done += 1 << 20) {
      out.write(b, offset + done, Math.min(1 << 20, length - done));
    }
  }

  /** Sends a complete answer; a HEAD answer gets the headers only, with the body's length. */
  private static void send(HttpExchange ex, int status, byte[] body) throws IOException {
    if (ex.getRequestMethod().equals("HEAD") || body.length == 0) {
      if (ex.getRequestMethod().equals("HEAD")) {
        ex.getResponseHeaders().set("Content-Length", Integer.toString(body.length));
      }
      ex.sendResponseHeaders(status, -1);
      return;
    }
    ex.sendResponseHeaders(status, body.length);
    ex.getResponseBody().write(body);
  }

  private void record(HttpExchange ex, String server) {
    Headers h = ex.getRequestHeaders();
    synchronized (requests) {
      requests.add(new Request(server, ex.getRequestMethod(), ex.getRequestURI().getPath(),
          h.getFirst("Range"), h.getFirst("Authorization")));
    }
  }

  private static String decode(String s) {
    return URLDecoder.decode(s, StandardCharsets.UTF_8);
  }

  private static byte[] digest(String algorithm, byte[] content) {
    try {
      return MessageDigest.getInstance(algorithm).digest(content);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
