"""``perfeval bench``: benchmarks on synthetic databases."""

from __future__ import annotations

import json
from pathlib import Path


def cmd_bench(args) -> int:
    from ..bench import run

    sizes = sorted({int(s) for s in args.sizes.split(",")})
    pages = ([int(s) for s in args.pages.split(",") if s.strip()] if args.pages is not None
             else sizes)
    browser = ([int(s) for s in args.browser.split(",") if s.strip()]
               if args.browser is not None else pages)
    figures = run(sizes, csv_rows=args.csv_rows, page_sizes=pages,
                  keep=Path(args.keep) if args.keep else None, browser_sizes=browser)
    if args.json:
        print(json.dumps(figures, ensure_ascii=False))
    else:
        width = max(map(len, figures))
        for key, value in figures.items():
            print(f"{key:<{width}}  {value:,}")
    return 0


def register(sub, common) -> None:
    s = sub.add_parser("bench", parents=[common], help="性能基准 / benchmarks on synthetic databases")
    s.add_argument("--sizes", default="10000,1000000",
                   help="指标行数，逗号分隔（默认 10000,1000000；完整基准加 10000000）")
    s.add_argument("--pages", help="对哪些规模计时页面（默认全部；空字符串表示不计时页面）")
    s.add_argument("--browser", help="对哪些规模在 Chromium 中计时首屏和筛选（默认同 --pages；"
                                    "空字符串表示不计时）；结果含与最简 Streamlit 页面之比")
    s.add_argument("--csv-rows", type=int, default=1_000_000, help="对该规模计时 CSV 导入")
    s.add_argument("--json", action="store_true", help="输出一个 JSON 对象")
    s.add_argument("--keep", help="保留生成的数据库到该目录")
    s.set_defaults(func=cmd_bench)
