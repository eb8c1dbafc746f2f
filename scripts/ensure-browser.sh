#!/usr/bin/env bash
# Debian's Chromium and ChromeDriver for the real-browser test, installed when missing.
# A CJK font is added so screenshots show Chinese. Needs root and apt-get; otherwise it
# only says what is missing (the browser test then skips, unless POLICYQA_REQUIRE_BROWSER=1).
set -u
if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "提示：未安装 chromium / chromium-driver，浏览器测试将跳过（apt-get install chromium chromium-driver）" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null && apt-get install -y -qq chromium chromium-driver fonts-wqy-microhei >/dev/null \
  || echo "提示：chromium 安装失败，浏览器测试将跳过" >&2
exit 0
