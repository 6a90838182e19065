// The peers rig's Flyway: the Flyway library (flyway-core and its PostgreSQL module, with the xerial
// SQLite and PostgreSQL JDBC drivers) behind a command line shaped like Flyway's own:
//
//   java -cp 'lib/*:classes' FlywayPeer version|info|validate|migrate|baseline -url=… [-user=… -password=…]
//       -locations=filesystem:DIR [-baselineVersion=… -baselineOnMigrate=true -outOfOrder=true …]
//
// Every `-key=value` becomes the Flyway setting `flyway.key` exactly as the `flyway` command line maps
// it, so the defaults (validateOnMigrate, ignoreMigrationPatterns, …) are the library's. stdout is one
// JSON object for the peer tests; Flyway's own log goes to stderr. Exit 1 when Flyway refuses.
// Why not the `flyway` command line itself: from Flyway 10 on, its Maven artifact pulls modules that
// are not on Maven Central, and its tarball is not published there for 13.x (docs/peers.md).

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.FlywayException;
import org.flywaydb.core.api.MigrationInfo;
import org.flywaydb.core.api.output.MigrateOutput;
import org.flywaydb.core.api.output.MigrateResult;
import org.flywaydb.core.api.output.ValidateOutput;
import org.flywaydb.core.api.output.ValidateResult;

public final class FlywayPeer {
  private FlywayPeer() {}

  public static void main(String[] args) {
    if (args.length == 0) {
      System.err.println("usage: FlywayPeer info|validate|migrate|baseline -url=… -locations=filesystem:DIR …");
      System.exit(2);
    }
    String verb = args[0];
    if (verb.equals("version")) {
      // What the jars on the class path say, not what the rig meant to install.
      System.out.println("Flyway " + org.flywaydb.core.internal.license.VersionPrinter.getVersion()
          + " (sqlite-jdbc " + implementationVersion("org.sqlite.JDBC")
          + ", pgjdbc " + implementationVersion("org.postgresql.Driver") + ")");
      return;
    }
    Map<String, String> settings = new LinkedHashMap<>();
    for (int i = 1; i < args.length; i++) {
      String arg = args[i];
      int eq = arg.indexOf('=');
      if (!arg.startsWith("-") || eq < 0) {
        System.err.println("FlywayPeer: expected -key=value, found " + arg);
        System.exit(2);
      }
      settings.put("flyway." + arg.substring(1, eq), arg.substring(eq + 1));
    }
    Flyway flyway = Flyway.configure().configuration(settings).load();
    try {
      switch (verb) {
        case "info" -> System.out.println(info(flyway.info().all()));
        case "validate" -> {
          ValidateResult result = flyway.validateWithResult();
          List<String> errors = new ArrayList<>();
          for (ValidateOutput out : result.invalidMigrations) {
            String message = out.errorDetails == null ? "" : out.errorDetails.errorMessage;
            errors.add(obj("version", str(out.version), "script", str(out.filepath), "message", str(message)));
          }
          System.out.println(
              obj("valid", String.valueOf(result.validationSuccessful), "errors", "[" + String.join(",", errors) + "]"));
          if (!result.validationSuccessful) System.exit(1);
        }
        case "migrate" -> {
          MigrateResult result = flyway.migrate();
          List<String> applied = new ArrayList<>();
          for (MigrateOutput out : result.migrations)
            applied.add(obj("version", str(out.version), "description", str(out.description), "script", str(out.filepath)));
          System.out.println(
              obj("executed", String.valueOf(result.migrationsExecuted), "migrations", "[" + String.join(",", applied) + "]"));
        }
        case "baseline" -> {
          flyway.baseline();
          System.out.println(obj("baselined", "true"));
        }
        default -> {
          System.err.println("FlywayPeer: unknown command " + verb);
          System.exit(2);
        }
      }
    } catch (FlywayException e) {
      System.out.println(obj("error", str(e.getMessage())));
      System.err.println("ERROR: " + e.getMessage());
      System.exit(1);
    }
  }

  private static String implementationVersion(String className) {
    try {
      Class<?> c = Class.forName(className);
      String v = c.getPackage().getImplementationVersion();
      if (v == null && className.equals("org.sqlite.JDBC"))
        v = (String) Class.forName("org.sqlite.SQLiteJDBCLoader").getMethod("getVersion").invoke(null);
      return v == null ? "unknown" : v;
    } catch (ReflectiveOperationException e) {
      return "missing";
    }
  }

  private static String info(MigrationInfo[] all) {
    List<String> rows = new ArrayList<>();
    for (MigrationInfo m : all) {
      rows.add(
          obj(
              "version", m.getVersion() == null ? "null" : str(m.getVersion().getVersion()),
              "description", str(m.getDescription()),
              "type", str(m.getType().name()),
              "script", str(m.getScript()),
              "state", str(m.getState().getDisplayName()),
              "checksum", m.getChecksum() == null ? "null" : String.valueOf(m.getChecksum()),
              "installed_rank", m.getInstalledRank() == null ? "null" : String.valueOf(m.getInstalledRank())));
    }
    return obj("migrations", "[" + String.join(",", rows) + "]");
  }

  /** A JSON object from key, raw JSON value pairs. */
  private static String obj(String... pairs) {
    StringBuilder b = new StringBuilder("{");
    for (int i = 0; i < pairs.length; i += 2) {
      if (i > 0) b.append(',');
      b.append(str(pairs[i])).append(':').append(pairs[i + 1]);
    }
    return b.append('}').toString();
  }

  private static String str(String s) {
    if (s == null) return "null";
    StringBuilder b = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      switch (c) {
        case '"' -> b.append("\\\"");
        case '\\' -> b.append("\\\\");
        case '\n' -> b.append("\\n");
        case '\r' -> b.append("\\r");
        case '\t' -> b.append("\\t");
        default -> {
          if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
          else b.append(c);
        }
      }
    }
    return b.append('"').toString();
  }
}
