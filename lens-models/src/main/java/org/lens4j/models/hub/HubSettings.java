package org.lens4j.models.hub;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Where and how {@link HfHub} talks to the Hugging Face hub: the same settings, read from the same
 * environment variables, as Python's {@code huggingface_hub}, so both share one cache.
 *
 * <p>Build it with {@link #fromEnvironment()} (reads {@link System#getenv()}) or
 * {@link #fromEnvironment(Map)} (any map, for tests), then adjust with the {@code with...} methods.
 *
 * @param endpoint the hub's base URL without a trailing slash ({@code HF_ENDPOINT}, default
 *     {@code https://huggingface.co})
 * @param cacheDir the hub cache folder that holds the {@code models--org--name} folders
 *     ({@code HF_HUB_CACHE}, default {@code $HF_HOME/hub})
 * @param offline whether to never touch the network and answer from the cache only
 *     ({@code HF_HUB_OFFLINE})
 * @param token the access token sent as {@code Authorization: Bearer} to the endpoint's host, or
 *     {@code null} for none ({@code HF_TOKEN}, else the file {@code $HF_HOME/token} that
 *     {@code huggingface-cli login} writes)
 * @param showProgress whether downloads draw a progress bar on standard error
 * @param requestTimeout how long to wait for the hub to answer a metadata request
 *     ({@code HF_HUB_ETAG_TIMEOUT}, default 10 s)
 * @param downloadTimeout how long a download may go without receiving a byte before it is abandoned
 *     ({@code HF_HUB_DOWNLOAD_TIMEOUT}, default 10 s)
 */
public record HubSettings(
    String endpoint,
    Path cacheDir,
    boolean offline,
    String token,
    boolean showProgress,
    Duration requestTimeout,
    Duration downloadTimeout) {

  /** The public Hugging Face hub. */
  public static final String DEFAULT_ENDPOINT = "https://huggingface.co";

  /** Values huggingface_hub reads as "true" in boolean environment variables (any case). */
  private static final Set<String> TRUE_VALUES = Set.of("1", "ON", "YES", "TRUE");

  private static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(10);

  /**
   * Checks and normalises the settings (trailing slashes of the endpoint dropped, a blank token
   * meaning none).
   *
   * @param endpoint the hub's base URL, http or https
   * @param cacheDir the hub cache folder
   * @param offline whether to answer from the cache only
   * @param token an access token, or {@code null}
   * @param showProgress whether downloads draw a progress bar on standard error
   * @param requestTimeout how long to wait for an answer to a metadata request
   * @param downloadTimeout how long a download may go without receiving a byte
   * @throws IllegalArgumentException if the endpoint is not an http(s) URL or a timeout is not
   *     positive
   */
  public HubSettings {
    Objects.requireNonNull(endpoint, "endpoint");
    Objects.requireNonNull(cacheDir, "cacheDir");
    Objects.requireNonNull(requestTimeout, "requestTimeout");
    Objects.requireNonNull(downloadTimeout, "downloadTimeout");
    endpoint = stripTrailingSlashes(endpoint);
    URI uri;
    try {
      uri = URI.create(endpoint);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("endpoint (HF_ENDPOINT) is not a URL: '" + endpoint + "'", e);
    }
    if (!("http".equals(uri.getScheme()) || "https".equals(uri.getScheme())) || uri.getHost() == null) {
      throw new IllegalArgumentException(
          "endpoint (HF_ENDPOINT) must be an http:// or https:// URL, got '" + endpoint + "'");
    }
    if (requestTimeout.isNegative() || requestTimeout.isZero()) {
      throw new IllegalArgumentException("requestTimeout must be positive, got " + requestTimeout);
    }
    if (downloadTimeout.isNegative() || downloadTimeout.isZero()) {
      throw new IllegalArgumentException("downloadTimeout must be positive, got " + downloadTimeout);
    }
    if (token != null && token.isBlank()) {
      token = null;
    }
  }

  /**
   * Reads the settings from the process environment.
   *
   * @return settings from {@link System#getenv()}
   */
  public static HubSettings fromEnvironment() {
    return fromEnvironment(System.getenv());
  }

  /**
   * Reads the settings from the given environment, the way huggingface_hub does: {@code HF_HOME}
   * (default {@code $XDG_CACHE_HOME/huggingface}, else {@code ~/.cache/huggingface}),
   * {@code HF_HUB_CACHE} (or the older {@code HUGGINGFACE_HUB_CACHE}; default
   * {@code $HF_HOME/hub}), {@code HF_ENDPOINT}, {@code HF_HUB_OFFLINE} (or
   * {@code TRANSFORMERS_OFFLINE}; {@code 1/true/yes/on}), {@code HF_TOKEN} (or the file at
   * {@code HF_TOKEN_PATH}, default {@code $HF_HOME/token}), {@code HF_HUB_DISABLE_PROGRESS_BARS},
   * {@code HF_HUB_ETAG_TIMEOUT} and {@code HF_HUB_DOWNLOAD_TIMEOUT} (seconds). A leading {@code ~}
   * in a path is the home folder ({@code HOME}, else the {@code user.home} property). Progress bars
   * are shown only when the process has a console.
   *
   * @param env environment variables by name
   * @return the settings
   * @throws IllegalArgumentException if a variable has a value that cannot be used, naming it
   * @throws UncheckedIOException if the token file exists but cannot be read
   */
  public static HubSettings fromEnvironment(Map<String, String> env) {
    String home = nonBlank(env.get("HOME"));
    Path userHome = Path.of(home != null ? home : System.getProperty("user.home"));
    String xdgCache = nonBlank(env.get("XDG_CACHE_HOME"));
    Path cacheHome = xdgCache != null ? expandHome(xdgCache, userHome) : userHome.resolve(".cache");
    String hfHomeVar = nonBlank(env.get("HF_HOME"));
    Path hfHome =
        hfHomeVar != null ? expandHome(hfHomeVar, userHome) : cacheHome.resolve("huggingface");

    String hubCacheVar = firstNonBlank(env.get("HF_HUB_CACHE"), env.get("HUGGINGFACE_HUB_CACHE"));
    Path cacheDir = hubCacheVar != null ? expandHome(hubCacheVar, userHome) : hfHome.resolve("hub");

    String endpoint = nonBlank(env.get("HF_ENDPOINT"));
    boolean offline =
        isTrue(firstNonBlank(env.get("HF_HUB_OFFLINE"), env.get("TRANSFORMERS_OFFLINE")));

    String token = firstNonBlank(env.get("HF_TOKEN"), env.get("HUGGING_FACE_HUB_TOKEN"));
    if (token == null) {
      String tokenPathVar = nonBlank(env.get("HF_TOKEN_PATH"));
      Path tokenPath =
          tokenPathVar != null ? expandHome(tokenPathVar, userHome) : hfHome.resolve("token");
      token = readTokenFile(tokenPath);
    }
    boolean showProgress =
        System.console() != null && !isTrue(env.get("HF_HUB_DISABLE_PROGRESS_BARS"));

    return new HubSettings(
        endpoint != null ? endpoint : DEFAULT_ENDPOINT,
        cacheDir,
        offline,
        token,
        showProgress,
        seconds(env, "HF_HUB_ETAG_TIMEOUT"),
        seconds(env, "HF_HUB_DOWNLOAD_TIMEOUT"));
  }

  /**
   * @param newEndpoint the hub's base URL
   * @return a copy with another endpoint
   */
  public HubSettings withEndpoint(String newEndpoint) {
    return new HubSettings(
        newEndpoint, cacheDir, offline, token, showProgress, requestTimeout, downloadTimeout);
  }

  /**
   * @param newCacheDir the hub cache folder (the one holding {@code models--org--name} folders)
   * @return a copy with another cache folder
   */
  public HubSettings withCacheDir(Path newCacheDir) {
    return new HubSettings(
        endpoint, newCacheDir, offline, token, showProgress, requestTimeout, downloadTimeout);
  }

  /**
   * @param newOffline whether to answer from the cache only
   * @return a copy with offline mode switched
   */
  public HubSettings withOffline(boolean newOffline) {
    return new HubSettings(
        endpoint, cacheDir, newOffline, token, showProgress, requestTimeout, downloadTimeout);
  }

  /**
   * @param newToken an access token, or {@code null} for none
   * @return a copy with another token
   */
  public HubSettings withToken(String newToken) {
    return new HubSettings(
        endpoint, cacheDir, offline, newToken, showProgress, requestTimeout, downloadTimeout);
  }

  /**
   * @param newShowProgress whether downloads draw a progress bar on standard error
   * @return a copy with the progress bar switched
   */
  public HubSettings withShowProgress(boolean newShowProgress) {
    return new HubSettings(
        endpoint, cacheDir, offline, token, newShowProgress, requestTimeout, downloadTimeout);
  }

  /**
   * @param newRequestTimeout how long to wait for an answer to a metadata request
   * @param newDownloadTimeout how long a download may go without receiving a byte
   * @return a copy with other timeouts
   */
  public HubSettings withTimeouts(Duration newRequestTimeout, Duration newDownloadTimeout) {
    return new HubSettings(
        endpoint, cacheDir, offline, token, showProgress, newRequestTimeout, newDownloadTimeout);
  }

  /** Describes the settings; the token is shown only as present or absent, never its value. */
  @Override
  public String toString() {
    return "HubSettings[endpoint=" + endpoint + ", cacheDir=" + cacheDir + ", offline=" + offline
        + ", token=" + (token == null ? "none" : "***") + ", showProgress=" + showProgress
        + ", requestTimeout=" + requestTimeout + ", downloadTimeout=" + downloadTimeout + "]";
  }

  private static String readTokenFile(Path tokenPath) {
    if (!Files.isRegularFile(tokenPath)) {
      return null;
    }
    try {
      return nonBlank(Files.readString(tokenPath).strip());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the Hugging Face token file " + tokenPath, e);
    }
  }

  private static Duration seconds(Map<String, String> env, String name) {
    String value = nonBlank(env.get(name));
    if (value == null) {
      return DEFAULT_TIMEOUT;
    }
    try {
      long s = Long.parseLong(value.strip());
      if (s <= 0) {
        throw new NumberFormatException();
      }
      return Duration.ofSeconds(s);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(
          name + "='" + value + "' is not a positive whole number of seconds");
    }
  }

  private static boolean isTrue(String value) {
    return value != null && TRUE_VALUES.contains(value.strip().toUpperCase(Locale.ROOT));
  }

  private static Path expandHome(String path, Path userHome) {
    if (path.equals("~")) {
      return userHome;
    }
    if (path.startsWith("~/")) {
      return userHome.resolve(path.substring(2));
    }
    return Path.of(path);
  }

  private static String stripTrailingSlashes(String s) {
    int end = s.length();
    while (end > 0 && s.charAt(end - 1) == '/') {
      end--;
    }
    return s.substring(0, end);
  }

  private static String firstNonBlank(String a, String b) {
    String first = nonBlank(a);
    return first != null ? first : nonBlank(b);
  }

  private static String nonBlank(String s) {
    return s == null || s.isBlank() ? null : s;
  }
}
