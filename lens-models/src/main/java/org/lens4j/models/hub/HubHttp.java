package org.lens4j.models.hub;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.net.ProxySelector;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * HTTP with the hub's rules: the token goes only to the endpoint's own scheme, host and port
 * (never to a CDN a redirect points at), redirects are followed by hand so that rule holds at
 * every hop, and error statuses become {@link HubException}s that say what to do.
 */
final class HubHttp {

  /** Header the hub uses for the commit a revision resolved to. */
  static final String X_REPO_COMMIT = "X-Repo-Commit";

  private static final int MAX_REDIRECTS = 10;
  private static final String USER_AGENT =
      "lens4j-hub/0.1; java/" + Runtime.version().feature();

  private final HubSettings settings;
  private final URI endpoint;
  private final HttpClient client;

  HubHttp(HubSettings settings) {
    this.settings = settings;
    this.endpoint = URI.create(settings.endpoint());
    HttpClient.Builder builder = HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1)
        .followRedirects(HttpClient.Redirect.NEVER)
        .connectTimeout(settings.requestTimeout());
    ProxySelector proxies = ProxySelector.getDefault();
    if (proxies != null) {
      builder.proxy(proxies); // honours -Dhttps.proxyHost and friends
    }
    this.client = builder.build();
  }

  /**
   * Sends a HEAD request, following only relative redirects (a renamed repo), as huggingface_hub
   * does, so that an LFS file's redirect to its CDN comes back with the hub's headers.
   */
  HttpResponse<Void> head(URI url) throws IOException {
    return send("HEAD", url, Map.of("Accept-Encoding", "identity"), settings.requestTimeout(),
        HttpResponse.BodyHandlers.discarding(), false);
  }

  /** Sends a GET request for a body to stream, following every redirect. */
  HttpResponse<InputStream> getStream(URI url, Map<String, String> headers) throws IOException {
    return send("GET", url, headers, settings.downloadTimeout(),
        HttpResponse.BodyHandlers.ofInputStream(), true);
  }

  /** Sends a GET request for a small text body (API answers), following every redirect. */
  HttpResponse<String> getString(URI url) throws IOException {
    return send("GET", url, Map.of(), settings.requestTimeout(),
        HttpResponse.BodyHandlers.ofString(), true);
  }

  private <T> HttpResponse<T> send(String method, URI url, Map<String, String> headers,
      Duration timeout, HttpResponse.BodyHandler<T> handler, boolean followAll) throws IOException {
    URI current = url;
    for (int hop = 0; ; hop++) {
      if (!("http".equals(current.getScheme()) || "https".equals(current.getScheme()))
          || current.getHost() == null) {
        throw new HubException(HubException.Reason.BAD_RESPONSE, "the hub pointed at " + current
            + (hop > 0 ? " (redirected from " + url + ")" : "") + ", which is not an http(s) URL");
      }
      HttpRequest.Builder request = HttpRequest.newBuilder(current)
          .method(method, HttpRequest.BodyPublishers.noBody())
          .timeout(timeout)
          .header("User-Agent", USER_AGENT);
      headers.forEach(request::header);
      if (settings.token() != null && sameOrigin(current, endpoint)) {
        request.header("Authorization", "Bearer " + settings.token());
      }
      HttpResponse<T> response;
      try {
        response = client.send(request.build(), handler);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new InterruptedIOException("interrupted while requesting " + current);
      }
      String location = response.headers().firstValue("Location").orElse(null);
      if (!isRedirect(response.statusCode()) || location == null) {
        return response;
      }
      URI target = null;
      boolean relative = false;
      try {
        URI locationUri = new URI(location);
        target = current.resolve(locationUri);
        relative = locationUri.getRawAuthority() == null;
      } catch (URISyntaxException e) {
        // reported below
      }
      if (target != null && !followAll && !relative) {
        return response;
      }
      if (response.body() instanceof Closeable body) {
        body.close();
      }
      if (target == null) {
        throw new HubException(HubException.Reason.BAD_RESPONSE,
            "redirect from " + current + " has an unusable Location header: " + location);
      }
      if (hop == MAX_REDIRECTS) {
        throw new HubException(HubException.Reason.HTTP_ERROR,
            "more than " + MAX_REDIRECTS + " redirects starting at " + url);
      }
      current = target;
    }
  }

  /**
   * Turns an error status into a {@link HubException} that names the repo, revision, file (when
   * not {@code null}) and URL and says what to do.
   */
  HubException statusError(HttpResponse<?> response, String repoId, String revision,
      String filename) {
    int status = response.statusCode();
    URI url = response.uri();
    String errorCode = response.headers().firstValue("X-Error-Code").orElse("");
    String hubSays = response.headers().firstValue("X-Error-Message")
        .map(m -> " (hub says: " + m + ")").orElse("");
    if (status == 404) {
      String message;
      if (errorCode.equals("RepoNotFound")) {
        message = "repo '" + repoId + "' not found (" + url + "); if it is private or gated, set HF_TOKEN";
      } else if (errorCode.equals("RevisionNotFound")) {
        message = "revision '" + revision + "' not found in repo '" + repoId + "' (" + url + ")";
      } else if (filename != null) {
        message = "file '" + filename + "' not found in repo '" + repoId + "' at revision '"
            + revision + "' (" + url + ")";
      } else {
        message = "repo '" + repoId + "' or its revision '" + revision + "' not found (" + url + ")";
      }
      return new HubException(HubException.Reason.NOT_FOUND, message + hubSays);
    }
    if (status == 401 || status == 403) {
      String advice = settings.token() == null
          ? "no token was sent: set HF_TOKEN to a Hugging Face access token that has access to it"
          : "the token (HF_TOKEN) was rejected or has not been granted access to it";
      return new HubException(HubException.Reason.UNAUTHORIZED,
          "access to repo '" + repoId + "' was refused (HTTP " + status + ", " + url
              + "): the repo is gated or private (or does not exist) and " + advice + hubSays);
    }
    String subject = filename != null
        ? "file '" + filename + "' of repo '" + repoId + "' at revision '" + revision + "'"
        : "repo '" + repoId + "' at revision '" + revision + "'";
    return new HubException(HubException.Reason.HTTP_ERROR,
        "HTTP " + status + " from " + url + " for " + subject + hubSays);
  }

  /**
   * Describes a failure with the messages of its whole cause chain, since the JDK's HTTP client
   * often says only "closed" or nothing at the top (e.g. "closed: fixed content-length: 300000,
   * bytes received: 100000: EOF reached while reading").
   */
  static String describe(Throwable failure) {
    StringBuilder out = new StringBuilder();
    for (Throwable t = failure; t != null; t = t.getCause()) {
      String part = t.getMessage() != null ? t.getMessage() : t.getClass().getSimpleName();
      if (out.indexOf(part) < 0) {
        out.append(out.length() == 0 ? "" : ": ").append(part);
      }
    }
    return out.toString();
  }

  static boolean isRedirect(int status) {
    return status >= 300 && status < 400;
  }

  /** Whether two URLs share scheme, host and port (the only place the token may go). */
  static boolean sameOrigin(URI a, URI b) {
    return Objects.equals(lower(a.getScheme()), lower(b.getScheme()))
        && Objects.equals(lower(a.getHost()), lower(b.getHost()))
        && port(a) == port(b);
  }

  private static int port(URI uri) {
    if (uri.getPort() != -1) {
      return uri.getPort();
    }
    return "https".equalsIgnoreCase(uri.getScheme()) ? 443 : 80;
  }

  private static String lower(String s) {
    return s == null ? null : s.toLowerCase(Locale.ROOT);
  }
}
