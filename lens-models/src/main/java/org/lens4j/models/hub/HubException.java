package org.lens4j.models.hub;

import java.io.IOException;
import java.util.Objects;

/**
 * A hub request or cache look-up that failed. The message names the repo, file, revision and URL
 * or cache path involved (never the token); {@link #reason()} tells callers which kind of failure
 * it was, so that, for example, an optional file that does not exist can be told apart from a
 * network failure.
 */
public final class HubException extends IOException {

  private static final long serialVersionUID = 1L;

  /** The kinds of failure. */
  public enum Reason {
    /** The repo, revision or file does not exist (HTTP 404, or a cached "does not exist" marker). */
    NOT_FOUND,
    /** The hub refused access (HTTP 401/403): a gated or private repo, and no or a rejected token. */
    UNAUTHORIZED,
    /** Offline, or the hub could not be reached, and the file is not in the cache. */
    NOT_CACHED,
    /** The downloaded bytes do not match the hub's sha256 or size; nothing was kept. */
    CORRUPT,
    /** The hub answered with another HTTP error status. */
    HTTP_ERROR,
    /** The connection failed or stalled; a partial download is kept and the next call resumes it. */
    NETWORK,
    /** The server's answer lacks what the hub protocol promises (headers, JSON fields). */
    BAD_RESPONSE
  }

  /** The kind of failure. */
  private final Reason reason;

  /**
   * @param reason the kind of failure
   * @param message what failed, naming the repo, file, revision and URL or path
   */
  public HubException(Reason reason, String message) {
    this(reason, message, null);
  }

  /**
   * @param reason the kind of failure
   * @param message what failed, naming the repo, file, revision and URL or path
   * @param cause the underlying failure, or {@code null}
   */
  public HubException(Reason reason, String message, Throwable cause) {
    super(message, cause);
    this.reason = Objects.requireNonNull(reason, "reason");
  }

  /**
   * @return the kind of failure
   */
  public Reason reason() {
    return reason;
  }
}
