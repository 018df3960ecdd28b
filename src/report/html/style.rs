//! The page's inline stylesheet and its error trap script: no external file, so the
//! page opens from a CI artifact download.

/// For `scripts/check-html.sh`, which reads the DOM a headless browser dumps: any
/// script or load error is recorded on `<html data-error>`, and after loading,
/// `data-charts-drawn` counts the charts that have a size and content.
pub(super) const ERROR_TRAP: &str = "window.addEventListener('error',function(e){document.documentElement.setAttribute('data-error',String(e.message||e.type));},true);\
window.addEventListener('load',function(){var n=0;document.querySelectorAll('figure svg').forEach(function(s){var r=s.getBoundingClientRect();\
if(r.width>0&&r.height>0&&s.childElementCount>0)n++;});document.documentElement.setAttribute('data-charts-drawn',String(n));});";

pub(super) const STYLE: &str = r##"
:root{color-scheme:light dark;--bg:#fff;--fg:#1f2a3b;--muted:#57606a;--line:#d0d7de;--card:#f6f8fa;--ok:#1a7f37;--bad:#cf222e;--warn:#9a6700}
@media (prefers-color-scheme:dark){
:root{--bg:#0d1117;--fg:#e6edf3;--muted:#8d96a0;--line:#30363d;--card:#161b22;--ok:#3fb950;--bad:#f85149;--warn:#d29922}
svg [fill="#1F2A3B"]{fill:#e6edf3}
svg [stroke="#1F2A3B"]{stroke:#8d96a0}
svg [fill="#FFFFFE"]{fill:#161b22}
}
*{box-sizing:border-box}
body{margin:0 auto;max-width:1280px;padding:20px 24px 40px;background:var(--bg);color:var(--fg);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Liberation Sans","DejaVu Sans",sans-serif}
svg text{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Liberation Sans","DejaVu Sans",sans-serif}
h1{font-size:22px;margin:0 0 8px}h2{font-size:18px;margin:0 0 10px}h3{font-size:15px;margin:16px 0 8px}
.muted{color:var(--muted);font-weight:normal}
code{font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,"DejaVu Sans Mono",monospace}
a{color:#4e79a7}
header{border-bottom:1px solid var(--line);padding-bottom:12px;margin-bottom:16px}
.verdict,.health{margin:6px 0;padding:8px 12px;border-radius:6px;border:1px solid var(--line);border-left-width:6px}
.verdict{font-size:16px;font-weight:600}
.ok{border-left-color:var(--ok)}.warn{border-left-color:var(--warn)}.bad{border-left-color:var(--bad)}
b.bad{color:var(--bad)}
.facts{display:grid;grid-template-columns:repeat(auto-fill,minmax(260px,1fr));gap:2px 20px;margin:10px 0 0}
.facts div{display:flex;gap:8px;min-width:0}.facts dt{color:var(--muted);min-width:64px}.facts dd{margin:0;overflow-wrap:anywhere}
nav{margin:0 0 16px}
section{margin:0 0 28px;padding-top:4px}
.chips{display:flex;flex-wrap:wrap;gap:8px;margin:0 0 10px}
.chips div{background:var(--card);border:1px solid var(--line);border-radius:6px;padding:4px 10px}
.chips span{color:var(--muted);margin-right:6px}
table.stats{border-collapse:collapse;font-variant-numeric:tabular-nums;margin:0 0 8px;font-size:13px}
.stats th,.stats td{padding:3px 10px;border-bottom:1px solid var(--line);text-align:right;white-space:nowrap}
.stats tbody th{text-align:left;font-weight:600}.stats thead th{color:var(--muted);font-weight:600}
.stats thead th:first-child{text-align:left}
.notes{margin:0 0 12px;padding-left:18px;color:var(--fg);font-size:13px}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(440px,1fr));gap:14px}
figure{margin:0;background:var(--card);border:1px solid var(--line);border-radius:8px;padding:8px 8px 4px}
figcaption{font-weight:600;margin:0 0 2px 6px}
figure svg{display:block;width:100%;height:auto}
footer{color:var(--muted);font-size:12px;border-top:1px solid var(--line);padding-top:8px}
"##;
