package org.lens4j.models.hub;

import com.google.gson.JsonElement;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * A client for the Hugging Face hub that downloads model files into the same cache Python's
 * {@code huggingface_hub} uses ({@code $HF_HOME/hub/models--{org}--{name}/...}), so files either
 * side downloaded are reused by the other.
 *
 * <p>A file already cached for the requested revision is returned without any network request
 * ({@code refs/{revision}} names the commit, {@code snapshots/{commit}/{filename}} holds the file).
 * Otherwise a HEAD request to {@code {endpoint}/{repo}/resolve/{revision}/{filename}} gives the
 * commit, ETag and size; the content is downloaded to {@code blobs/{etag}.incomplete} (resumed
 * if present), verified against the sha256 for LFS files, renamed to {@code blobs/{etag}}, and
 * linked from the snapshot. Offline ({@code HF_HUB_OFFLINE}) nothing touches the network.
 *
 * <p>Instances are thread-safe, and several threads or lens4j processes may download into one
 * cache at once.
 *
 * <pre>{@code
 * HfHub hub = new HfHub(HubSettings.fromEnvironment());
 * Path config = hub.download("gpt2", "config.json", null);
 * }</pre>
 */
public final class HfHub {

  private final HubSettings settings;
  private final HubHttp http;
  private final BlobDownloader downloader;

  /**
   * @param settings endpoint, cache folder, offline switch, token, progress bar and timeouts
   */
  public HfHub(HubSettings settings) {
    this.settings = Objects.requireNonNull(settings, "settings");
    this.http = new HubHttp(settings);
    this.downloader = new BlobDownloader(http, settings);
  }

  /**
   * @return the settings this client uses
   */
  public HubSettings settings() {
    return settings;
  }

  /**
   * Returns a file of a repo, from the cache if it is there for this revision, else downloaded
   * into the cache.
   *
   * @param repoId {@code name} or {@code org/name}
   * @param filename path inside the repo, with '/' separators (e.g. {@code config.json})
   * @param revision branch, tag or commit hash; {@code null} means {@code main}
   * @return the file's path in the cache, {@code .../snapshots/{commit}/{filename}}
   * @throws HubException if the file does not exist ({@code NOT_FOUND}), access is refused
   *     ({@code UNAUTHORIZED}), it is not cached and the hub is offline or unreachable
   *     ({@code NOT_CACHED}), the download was wrong ({@code CORRUPT}) or failed
   * @throws IOException if the cache cannot be written
   * @throws IllegalArgumentException if the repo id, file name or revision is invalid
   * @throws IllegalStateException if the cache's {@code refs/{revision}} file holds no commit hash
   */
  public Path download(String repoId, String filename, String revision) throws IOException {
    RepoFile file = new RepoFile(repoId, filename, orMain(revision));
    RepoCache cache = cacheFor(file.repoId());
    Optional<Path> hit = cache.cachedFile(file.revision(), file.filename());
    if (hit.isPresent()) {
      return hit.get();
    }
    if (settings.offline()) {
      throw notCached(file, cache, "the hub is offline (HF_HUB_OFFLINE is set)", null);
    }
    FileMetadata meta = fetchMetadata(file, cache);
    cache.writeRef(file.revision(), meta.commit());
    Path pointer = cache.pointer(meta.commit(), file.filename());
    Path blob = cache.blob(meta.etag());
    RepoCache.Held lock = cache.lock(meta.etag());
    try {
      if (!Files.isRegularFile(pointer)) { // another thread or process may have finished it
        boolean newBlob = !Files.isRegularFile(blob);
        if (newBlob) {
          downloader.download(file, meta, blob, cache.incomplete(meta.etag()));
        }
        cache.link(blob, pointer, newBlob);
      }
    } finally {
      lock.close();
    }
    return pointer;
  }

  /**
   * Looks a file up in the cache only, never touching the network.
   *
   * @param repoId {@code name} or {@code org/name}
   * @param filename path inside the repo
   * @param revision branch, tag or commit hash; {@code null} means {@code main}
   * @return the cached file, or empty if this revision's snapshot does not hold it
   * @throws IllegalArgumentException if the repo id, file name or revision is invalid
   * @throws IllegalStateException if the cache's {@code refs/{revision}} file holds no commit hash
   */
  public Optional<Path> cached(String repoId, String filename, String revision) {
    RepoFile file = new RepoFile(repoId, filename, orMain(revision));
    return cacheFor(file.repoId()).cachedFile(file.revision(), file.filename());
  }

  /**
   * Lists a repo's files at a revision. Online this asks the hub's API and keeps its order;
   * offline, or when the hub cannot be reached, it lists the cached snapshot of that revision
   * (only the files downloaded so far, sorted).
   *
   * @param repoId {@code name} or {@code org/name}
   * @param revision branch, tag or commit hash; {@code null} means {@code main}
   * @return paths inside the repo, with '/' separators
   * @throws HubException if the repo or revision does not exist, access is refused, or the hub is
   *     offline or unreachable and no snapshot of the revision is cached
   * @throws IllegalArgumentException if the repo id or revision is invalid
   */
  public List<String> listFiles(String repoId, String revision) throws IOException {
    String rev = HubUrls.checkRelativePath(orMain(revision), "revision");
    RepoCache cache = cacheFor(HubUrls.checkRepoId(repoId));
    if (settings.offline()) {
      return cachedListing(repoId, rev, cache, "the hub is offline (HF_HUB_OFFLINE is set)", null);
    }
    URI url = HubUrls.modelInfoUrl(settings.endpoint(), repoId, rev);
    HttpResponse<String> response;
    try {
      response = http.getString(url);
    } catch (HubException e) {
      throw e;
    } catch (IOException e) {
      return cachedListing(repoId, rev, cache,
          "the hub could not be reached (" + url + ": " + HubHttp.describe(e) + ")", e);
    }
    if (response.statusCode() != 200) {
      throw http.statusError(response, repoId, rev, null);
    }
    return parseSiblings(response.body(), url);
  }

  /**
   * Finds a file either in a local folder or on the hub: if {@code repoIdOrDir} is an existing
   * directory the file is taken from there without touching the network or the cache, otherwise
   * it is {@link #download downloaded}. (A folder named like a repo id in the working directory
   * therefore wins over the hub, as in Python's {@code from_pretrained}.)
   *
   * @param repoIdOrDir a local directory, or {@code name} / {@code org/name} on the hub
   * @param filename path inside the directory or repo
   * @param revision branch, tag or commit hash for the hub; {@code null} means {@code main}
   * @return the file
   * @throws HubException {@code NOT_FOUND} if the directory lacks the file, or as
   *     {@link #download}
   * @throws IOException as {@link #download}
   */
  public Path resolve(String repoIdOrDir, String filename, String revision) throws IOException {
    Optional<Path> dir = existingDirectory(repoIdOrDir);
    if (dir.isEmpty()) {
      return download(repoIdOrDir, filename, revision);
    }
    Path file = dir.get().resolve(HubUrls.checkRelativePath(filename, "file name"));
    if (!Files.isRegularFile(file)) {
      throw new HubException(HubException.Reason.NOT_FOUND,
          "file '" + filename + "' not found in local directory " + dir.get().toAbsolutePath());
    }
    return file;
  }

  /** HEADs the resolve URL and reads commit, ETag, size and download location from the answer. */
  private FileMetadata fetchMetadata(RepoFile file, RepoCache cache) throws IOException {
    URI url = HubUrls.resolveUrl(
        settings.endpoint(), file.repoId(), file.filename(), file.revision());
    HttpResponse<Void> response;
    try {
      response = http.head(url);
    } catch (HubException e) {
      throw e;
    } catch (IOException e) {
      throw notCached(file, cache, "the hub could not be reached (" + url + ": " + HubHttp.describe(e) + ")", e);
    }
    int status = response.statusCode();
    if (status >= 400) {
      if (status == 404) {
        recordMissing(file, cache, response);
      }
      throw http.statusError(response, file.repoId(), file.revision(), file.filename());
    }
    var headers = response.headers();
    String commit = headers.firstValue(HubHttp.X_REPO_COMMIT).orElse(null);
    if (commit == null || !HubUrls.isCommitHash(commit)) {
      throw new HubException(HubException.Reason.BAD_RESPONSE, url + " answered without a valid "
          + HubHttp.X_REPO_COMMIT + " header (got " + commit + "): is " + settings.endpoint()
          + " (HF_ENDPOINT) a Hugging Face hub?");
    }
    String etag = normalizeEtag(headers.firstValue("X-Linked-Etag")
        .or(() -> headers.firstValue("ETag")).orElse(null));
    if (etag == null || !etag.matches("[A-Za-z0-9_-][A-Za-z0-9_.-]*")) {
      throw new HubException(HubException.Reason.BAD_RESPONSE,
          url + " answered without a usable ETag (got " + etag + "), so " + file
              + " cannot be cached reliably");
    }
    String sizeHeader = headers.firstValue("X-Linked-Size")
        .or(() -> headers.firstValue("Content-Length")).orElse(null);
    long size = parseSize(sizeHeader);
    if (size < 0) {
      throw new HubException(HubException.Reason.BAD_RESPONSE,
          url + " answered without a usable X-Linked-Size or Content-Length (got " + sizeHeader
              + ") for " + file);
    }
    // As in huggingface_hub: download from where the HEAD answer points (an LFS file's CDN).
    URI location = headers.firstValue("Location").map(response.uri()::resolve)
        .orElse(response.uri());
    return new FileMetadata(commit, etag, size, location);
  }

  /** Writes the {@code .no_exist} marker huggingface_hub writes when the hub says "no such file". */
  private static void recordMissing(RepoFile file, RepoCache cache, HttpResponse<?> response)
      throws IOException {
    String code = response.headers().firstValue("X-Error-Code").orElse("EntryNotFound");
    String commit = response.headers().firstValue(HubHttp.X_REPO_COMMIT).orElse("");
    if (code.equals("EntryNotFound") && HubUrls.isCommitHash(commit)) {
      cache.writeNoExist(commit, file.filename());
      cache.writeRef(file.revision(), commit);
    }
  }

  private HubException notCached(RepoFile file, RepoCache cache, String why, Throwable cause) {
    if (cache.knownMissing(file.revision(), file.filename())) {
      return new HubException(HubException.Reason.NOT_FOUND, "file '" + file.filename()
          + "' not found in repo '" + file.repoId() + "' at revision '" + file.revision()
          + "' (recorded in the cache's .no_exist folder by an earlier request; " + why + ")",
          cause);
    }
    return new HubException(HubException.Reason.NOT_CACHED, file + " is not in the cache and "
        + why + "; looked for " + cache.describeLookup(file.revision(), file.filename()), cause);
  }

  private static List<String> cachedListing(String repoId, String revision, RepoCache cache,
      String why, Throwable cause) throws HubException {
    return cache.cachedFileList(revision).orElseThrow(() -> new HubException(
        HubException.Reason.NOT_CACHED, "no snapshot of repo '" + repoId + "' at revision '"
            + revision + "' is in the cache and " + why + "; looked for "
            + cache.describeLookup(revision, null), cause));
  }

  private static List<String> parseSiblings(String json, URI url) throws HubException {
    String bad = url + " did not answer a model-info JSON object with \"siblings\": [{\"rfilename\": ...}]";
    JsonElement root;
    try {
      root = JsonParser.parseString(json);
    } catch (JsonParseException e) {
      throw new HubException(HubException.Reason.BAD_RESPONSE, bad, e);
    }
    JsonElement siblings = root.isJsonObject() ? root.getAsJsonObject().get("siblings") : null;
    if (siblings == null || !siblings.isJsonArray()) {
      throw new HubException(HubException.Reason.BAD_RESPONSE, bad);
    }
    List<String> files = new ArrayList<>();
    for (JsonElement sibling : siblings.getAsJsonArray()) {
      JsonElement name = sibling.isJsonObject() ? sibling.getAsJsonObject().get("rfilename") : null;
      if (name == null || !name.isJsonPrimitive() || !name.getAsJsonPrimitive().isString()) {
        throw new HubException(HubException.Reason.BAD_RESPONSE, bad);
      }
      files.add(name.getAsString());
    }
    return files;
  }

  /** @return the size a header announces, or -1 if it is missing or not a number */
  private static long parseSize(String header) {
    try {
      return header == null ? -1 : Long.parseLong(header.strip());
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  private RepoCache cacheFor(String repoId) {
    return new RepoCache(settings.cacheDir(), repoId, true);
  }

  private static Optional<Path> existingDirectory(String s) {
    try {
      Path p = Path.of(s);
      return Files.isDirectory(p) ? Optional.of(p) : Optional.empty();
    } catch (InvalidPathException e) {
      return Optional.empty();
    }
  }

  /** Strips the quotes and weak marker from an ETag header value. */
  private static String normalizeEtag(String etag) {
    if (etag == null) {
      return null;
    }
    String s = etag.strip();
    if (s.startsWith("W/")) {
      s = s.substring(2);
    }
    if (s.length() >= 2 && s.startsWith("\"") && s.endsWith("\"")) {
      s = s.substring(1, s.length() - 1);
    }
    return s;
  }

  private static String orMain(String revision) {
    return revision == null ? HubUrls.DEFAULT_REVISION : revision;
  }
}
