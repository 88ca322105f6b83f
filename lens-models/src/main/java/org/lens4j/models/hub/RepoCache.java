package org.lens4j.models.hub;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * One repo's folder in the hub cache, laid out exactly as huggingface_hub lays it out so both
 * share files:
 *
 * <pre>
 * {cacheDir}/models--{org}--{name}/
 *   blobs/{etag}                        file contents, named by the hub's ETag (git sha1, or sha256 for LFS)
 *   blobs/{etag}.incomplete             a download in progress (resumable)
 *   refs/{revision}                     the commit hash a branch or tag pointed to, no newline
 *   snapshots/{commit}/{filename}       relative symlink to ../../blobs/{etag} (a copy where links fail)
 *   .no_exist/{commit}/{filename}       empty marker: the file does not exist at that commit
 * {cacheDir}/.locks/models--{org}--{name}/{etag}.lock
 * </pre>
 */
final class RepoCache {

  /** In-process locks by lock-file path: a file lock alone does not exclude threads of one JVM. */
  private static final ConcurrentHashMap<Path, ReentrantLock> JVM_LOCKS = new ConcurrentHashMap<>();

  private final Path cacheDir;
  private final String folderName;
  private final Path storage;
  private final boolean symlinks;

  /**
   * @param cacheDir the hub cache folder
   * @param repoId a checked repo id
   * @param symlinks whether to link snapshot entries to blobs (false: move or copy, as
   *     huggingface_hub does where symlinks are not supported)
   */
  RepoCache(Path cacheDir, String repoId, boolean symlinks) {
    this.cacheDir = cacheDir;
    this.folderName = "models--" + repoId.replace("/", "--");
    this.storage = cacheDir.resolve(folderName);
    this.symlinks = symlinks;
  }

  Path blob(String etag) {
    return storage.resolve("blobs").resolve(etag);
  }

  Path incomplete(String etag) {
    return storage.resolve("blobs").resolve(etag + ".incomplete");
  }

  Path pointer(String commit, String filename) {
    return storage.resolve("snapshots").resolve(commit).resolve(filename);
  }

  private Path noExistMarker(String commit, String filename) {
    return storage.resolve(".no_exist").resolve(commit).resolve(filename);
  }

  private Path ref(String revision) {
    return storage.resolve("refs").resolve(revision);
  }

  /**
   * The commit a revision names in the cache: the content of {@code refs/{revision}} if that file
   * exists, else the revision itself (a commit hash names its snapshot folder directly).
   *
   * @throws UncheckedIOException if the ref file cannot be read
   * @throws IllegalStateException if the ref file does not hold a commit hash
   */
  String commitFor(String revision) {
    Path ref = ref(revision);
    if (!Files.isRegularFile(ref)) {
      return revision;
    }
    String commit;
    try {
      commit = Files.readString(ref).strip();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read cache ref " + ref, e);
    }
    if (!HubUrls.isCommitHash(commit)) {
      throw new IllegalStateException(
          "cache ref " + ref + " does not hold a 40-character commit hash: '" + commit + "'");
    }
    return commit;
  }

  /** @return the cached file for a revision, following refs, if its snapshot entry exists */
  Optional<Path> cachedFile(String revision, String filename) {
    Path pointer = pointer(commitFor(revision), filename);
    return Files.isRegularFile(pointer) ? Optional.of(pointer) : Optional.empty();
  }

  /** @return whether an earlier request recorded that the file does not exist at this revision */
  boolean knownMissing(String revision, String filename) {
    return Files.isRegularFile(noExistMarker(commitFor(revision), filename));
  }

  /**
   * @return the files of a cached snapshot, relative paths with '/' in sorted order, or empty if
   *     the revision has no snapshot folder
   */
  Optional<List<String>> cachedFileList(String revision) {
    Path snapshot = storage.resolve("snapshots").resolve(commitFor(revision));
    if (!Files.isDirectory(snapshot)) {
      return Optional.empty();
    }
    try (Stream<Path> files = Files.walk(snapshot)) {
      return Optional.of(files
          .filter(Files::isRegularFile)
          .map(p -> snapshot.relativize(p).toString().replace(p.getFileSystem().getSeparator(), "/"))
          .sorted()
          .collect(Collectors.toList()));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list cached snapshot " + snapshot, e);
    }
  }

  /**
   * @param filename a file, or {@code null} for the snapshot folder itself
   * @return where a look-up for this file (or snapshot) went, for error messages
   */
  String describeLookup(String revision, String filename) {
    String commit = commitFor(revision);
    Path snapshot = storage.resolve("snapshots").resolve(commit);
    Path target = filename == null ? snapshot : snapshot.resolve(filename);
    if (!commit.equals(revision)) {
      return target + " (refs/" + revision + " -> " + commit + ")";
    }
    if (HubUrls.isCommitHash(revision)) {
      return target.toString();
    }
    return ref(revision) + " (no such ref: revision '" + revision + "' was never resolved here)";
  }

  /** Records which commit a branch or tag resolved to; a commit hash needs no ref. */
  void writeRef(String revision, String commit) throws IOException {
    if (revision.equals(commit)) {
      return;
    }
    Path ref = ref(revision);
    if (Files.isRegularFile(ref) && Files.readString(ref).strip().equals(commit)) {
      return;
    }
    Files.createDirectories(ref.getParent());
    Path tmp = ref.resolveSibling(ref.getFileName() + "." + UUID.randomUUID() + ".tmp");
    Files.writeString(tmp, commit);
    Files.move(tmp, ref, StandardCopyOption.ATOMIC_MOVE);
  }

  /** Records that the file does not exist at a commit, as huggingface_hub does on a 404. */
  void writeNoExist(String commit, String filename) throws IOException {
    Path marker = noExistMarker(commit, filename);
    Files.createDirectories(marker.getParent());
    if (!Files.exists(marker)) {
      Files.createFile(marker);
    }
  }

  /**
   * Makes the snapshot entry for a blob: a relative symlink, or, where links fail, the blob itself
   * (moved when it was just downloaded) or a copy of it. The entry appears atomically.
   */
  void link(Path blob, Path pointer, boolean newBlob) throws IOException {
    Files.createDirectories(pointer.getParent());
    Path tmp = pointer.resolveSibling(pointer.getFileName() + "." + UUID.randomUUID() + ".tmp");
    if (symlinks) {
      try {
        Files.createSymbolicLink(tmp, pointer.getParent().relativize(blob));
        Files.move(tmp, pointer, StandardCopyOption.ATOMIC_MOVE);
        return;
      } catch (UnsupportedOperationException | FileSystemException e) {
        Files.deleteIfExists(tmp); // no symlinks here: fall back to a real file below
      }
    }
    if (newBlob) {
      Files.move(blob, pointer, StandardCopyOption.ATOMIC_MOVE);
    } else {
      Files.copy(blob, tmp);
      Files.move(tmp, pointer, StandardCopyOption.ATOMIC_MOVE);
    }
  }

  /**
   * Takes the lock for one blob, so that two threads or two lens4j processes never write the same
   * {@code .incomplete} file; at {@code {cacheDir}/.locks/models--{org}--{name}/{etag}.lock}.
   *
   * @return the held lock; close it to release
   */
  Held lock(String etag) throws IOException {
    Path lockFile = cacheDir.resolve(".locks").resolve(folderName).resolve(etag + ".lock");
    Files.createDirectories(lockFile.getParent());
    ReentrantLock jvmLock = JVM_LOCKS.computeIfAbsent(lockFile, p -> new ReentrantLock());
    jvmLock.lock();
    FileChannel channel = null;
    try {
      channel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
      FileLock fileLock = channel.lock();
      FileChannel opened = channel;
      return () -> {
        try {
          fileLock.release();
          opened.close();
        } finally {
          jvmLock.unlock();
        }
      };
    } catch (IOException | RuntimeException e) {
      if (channel != null) {
        channel.close();
      }
      jvmLock.unlock();
      throw e;
    }
  }

  /** A held lock. */
  interface Held extends AutoCloseable {
    @Override
    void close() throws IOException;
  }
}
