package org.lens4j.models.hub;

import java.io.IOException;
import java.io.InputStream;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * Downloads one file's content into its blob, the way huggingface_hub does: into
 * {@code blobs/{etag}.incomplete}, resumed with a {@code Range} request when that file exists,
 * checked against the announced size and (for LFS files) the sha256 in the ETag, then renamed to
 * {@code blobs/{etag}} in one step, so the cache never holds a half-written blob.
 */
final class BlobDownloader {

  private static final int CHUNK = 1 << 20;
  private static final Pattern CONTENT_RANGE_START = Pattern.compile("bytes\\s+(\\d+)-.*");

  /** Closes stalled downloads; one daemon thread for the whole JVM. */
  private static final ScheduledExecutorService WATCHDOG =
      Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "lens4j-hub-watchdog");
        t.setDaemon(true);
        return t;
      });

  private final HubHttp http;
  private final HubSettings settings;

  BlobDownloader(HubHttp http, HubSettings settings) {
    this.http = http;
    this.settings = settings;
  }

  /**
   * Downloads the content described by {@code meta} into {@code blob}. The caller holds the blob's
   * lock. On failure the blob does not exist; a partial download stays in {@code incomplete} only
   * when it can be resumed (the connection failed), never when it was wrong.
   */
  void download(RepoFile file, FileMetadata meta, Path blob, Path incomplete) throws IOException {
    Files.createDirectories(blob.getParent());
    MessageDigest digest = meta.isSha256() ? sha256() : null;
    long have = Files.exists(incomplete) ? Files.size(incomplete) : -1;
    if (have > meta.size()) {
      Files.delete(incomplete); // longer than the file can be: not a prefix of it
      have = -1;
    }
    if (have > 0 && digest != null) {
      hashInto(incomplete, digest);
    }
    long total = have < meta.size() ? stream(file, meta, incomplete, Math.max(have, 0), digest) : have;
    if (total < meta.size()) {
      throw new HubException(HubException.Reason.NETWORK,
          "download of " + file + " stopped after " + total + " of " + meta.size() + " bytes ("
              + meta.location() + "); the partial download is kept in " + incomplete
              + " and the next call resumes it");
    }
    if (total > meta.size()) {
      Files.deleteIfExists(incomplete);
      throw new HubException(HubException.Reason.CORRUPT,
          "received " + total + " bytes for " + file + " but the hub announced " + meta.size()
              + " (" + meta.location() + "); the download was deleted");
    }
    if (digest != null) {
      String actual = HexFormat.of().formatHex(digest.digest());
      if (!actual.equals(meta.etag())) {
        Files.deleteIfExists(incomplete);
        throw new HubException(HubException.Reason.CORRUPT,
            "sha256 mismatch for " + file + " (" + meta.location() + "): expected " + meta.etag()
                + ", got " + actual + "; the download was deleted");
      }
    }
    Files.move(incomplete, blob, StandardCopyOption.ATOMIC_MOVE);
  }

  /**
   * GETs the content from byte {@code have} on, appending to {@code incomplete} (or starting over
   * when the server ignores the range), and feeds every byte written to {@code digest}.
   *
   * @return the size of {@code incomplete} afterwards
   */
  private long stream(RepoFile file, FileMetadata meta, Path incomplete, long have,
      MessageDigest digest) throws IOException {
    Map<String, String> headers = have > 0 ? Map.of("Range", "bytes=" + have + "-") : Map.of();
    HttpResponse<InputStream> response;
    try {
      response = http.getStream(meta.location(), headers);
    } catch (HubException e) {
      throw e;
    } catch (IOException e) {
      throw new HubException(HubException.Reason.NETWORK,
          "cannot download " + file + " from " + meta.location() + ": " + HubHttp.describe(e), e);
    }
    try (InputStream body = response.body()) {
      int status = response.statusCode();
      boolean append;
      if (status == 200) {
        append = false; // a full answer: the server ignored the range, start over
      } else if (status == 206 && have > 0 && rangeStart(response) == have) {
        append = true;
      } else if (status == 206 || status == 416) {
        Files.deleteIfExists(incomplete);
        throw new HubException(status == 416 ? HubException.Reason.HTTP_ERROR
            : HubException.Reason.BAD_RESPONSE,
            meta.location() + " could not resume " + file + " from byte " + have + " (HTTP "
                + status + ", Content-Range " + response.headers().firstValue("Content-Range")
                .orElse("missing") + "); the partial download was deleted, call again to restart");
      } else {
        throw http.statusError(response, file.repoId(), file.revision(), file.filename());
      }
      if (!append && digest != null) {
        digest.reset();
      }
      long start = append ? have : 0;
      try (FileChannel out = FileChannel.open(incomplete, StandardOpenOption.CREATE,
          StandardOpenOption.WRITE,
          append ? StandardOpenOption.APPEND : StandardOpenOption.TRUNCATE_EXISTING);
          ProgressBar bar = progressBar(file, meta.size(), start)) {
        copy(body, out, digest, bar, file, meta, incomplete);
        out.force(false);
        return out.size();
      }
    }
  }

  /** Copies the body to the file, abandoning it when no byte arrives for the download timeout. */
  private void copy(InputStream body, FileChannel out, MessageDigest digest, ProgressBar bar,
      RepoFile file, FileMetadata meta, Path incomplete) throws IOException {
    Duration timeout = settings.downloadTimeout();
    AtomicLong lastProgress = new AtomicLong(System.nanoTime());
    AtomicBoolean stalled = new AtomicBoolean();
    long tick = Math.max(timeout.toNanos() / 4, TimeUnit.MILLISECONDS.toNanos(10));
    ScheduledFuture<?> watch = WATCHDOG.scheduleAtFixedRate(() -> {
      if (System.nanoTime() - lastProgress.get() > timeout.toNanos()
          && stalled.compareAndSet(false, true)) {
        try {
          body.close(); // wakes up the blocked read below
        } catch (IOException ignored) {
          // the read reports the failure
        }
      }
    }, tick, tick, TimeUnit.NANOSECONDS);
    byte[] buffer = new byte[CHUNK];
    try {
      for (int n; (n = body.read(buffer)) >= 0; ) {
        lastProgress.set(System.nanoTime());
        ByteBuffer chunk = ByteBuffer.wrap(buffer, 0, n);
        while (chunk.hasRemaining()) {
          out.write(chunk);
        }
        if (digest != null) {
          digest.update(buffer, 0, n);
        }
        if (bar != null) {
          bar.stepBy(n);
        }
      }
    } catch (IOException e) {
      throw interrupted(file, meta, incomplete, out.size(),
          stalled.get() ? "no data for " + timeout.toSeconds() + " s" : HubHttp.describe(e), e);
    } finally {
      watch.cancel(false);
    }
    if (stalled.get()) {
      throw interrupted(file, meta, incomplete, out.size(),
          "no data for " + timeout.toSeconds() + " s", null);
    }
  }

  private static HubException interrupted(RepoFile file, FileMetadata meta, Path incomplete,
      long have, String why, Throwable cause) {
    return new HubException(HubException.Reason.NETWORK,
        "download of " + file + " from " + meta.location() + " was interrupted after " + have
            + " of " + meta.size() + " bytes (" + why + "); the partial download is kept in "
            + incomplete + " and the next call resumes it", cause);
  }

  private ProgressBar progressBar(RepoFile file, long size, long start) {
    if (!settings.showProgress()) {
      return null;
    }
    String name = file.filename();
    if (name.length() > 40) {
      name = "…" + name.substring(name.length() - 39);
    }
    return new ProgressBarBuilder()
        .setTaskName(name)
        .setInitialMax(size)
        .startsFrom(start, Duration.ZERO)
        .setUnit("MiB", 1 << 20)
        .setStyle(ProgressBarStyle.UNICODE_BLOCK) // no colour codes in redirected logs
        .showSpeed()
        .setConsumer(new ConsoleProgressBarConsumer(System.err))
        .build();
  }

  private static long rangeStart(HttpResponse<?> response) {
    Matcher m = CONTENT_RANGE_START.matcher(
        response.headers().firstValue("Content-Range").orElse(""));
    try {
      return m.matches() ? Long.parseLong(m.group(1)) : -1;
    } catch (NumberFormatException e) {
      return -1; // more digits than a long holds: not a usable range
    }
  }

  private static void hashInto(Path path, MessageDigest digest) throws IOException {
    byte[] buffer = new byte[CHUNK];
    try (InputStream in = Files.newInputStream(path)) {
      for (int n; (n = in.read(buffer)) >= 0; ) {
        digest.update(buffer, 0, n);
      }
    }
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java platform has SHA-256", e);
    }
  }
}
