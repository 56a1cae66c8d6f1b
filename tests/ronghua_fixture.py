"""The sample report (tests/fixtures/reports/ronghua-2022.txt) built by hand.

12 goals, 39 indicators (29 产出, 6 效益, 4 满意度), as the report states
them: the target is the 年初目标值 in brackets, the actual is the figure or
words the sentence gives (None when it gives only "完成年初目标"), and
``met`` is what the sentence says (完成 / 未完成年初目标). Until the report
parser lands this is the reference evaluation for the scoring tests.
"""

from __future__ import annotations

from perfeval.model import BudgetLine, Department, Evaluation, Goal, Indicator


def _i(category: str, name: str, target: str, actual: str | None, met: bool = True) -> Indicator:
    return Indicator(category=category, name=name, target=target, actual=actual, met=met)


def ronghua_2022() -> Evaluation:
    out, eff, sat = "产出", "效益", "满意度"
    goals = [
        Goal(1, "街道运行管理经费", indicators=[
            _i(out, "完成立案 5 件", "完成", "5件"),
            _i(out, "网格案结率", "100%", "100%"),
            _i(out, "数据维护 100%", "完成", "100%"),
            _i(out, "网格信息更新率", "100%", "100%"),
        ]),
        Goal(2, "基层群团综合事务经费", indicators=[
            _i(out, "家教大讲堂线下课程", "完成", "完成"),
            _i(out, "青少年活动", "完成", "完成"),
            _i(out, "做好共青团组织管理", "完成", "完成"),
        ]),
        Goal(3, "基层党建综合事务经费", indicators=[
            _i(out, "基层党建工作完成率", "完成", "100%"),
            _i(out, "社区党建品牌创建", "完成", "完成"),
            _i(out, "宣传报道", "完成", "完成"),
            _i(out, "宣传活动", "完成", "完成"),
            _i(eff, "党性教育覆盖率", "100%", "100%"),
        ]),
        Goal(4, "基层公共安全经费", indicators=[
            _i(out, "非访劝返率", "100%", "100%"),
            _i(out, "赴省重访率", "完成", "100%"),
            _i(out, "公共安全宣传", "完成", "到位"),
            _i(out, "信访积案化解率", "100%", "30%", met=False),
            _i(out, "重大安全事故", "完成", "无重大安全事故"),
            _i(eff, "消防隐患整治率 99%", "完成", "70%", met=False),
        ]),
        Goal(5, "社区工作者", indicators=[
            _i(out, "社区工作者考核", "100%合格", "100%合格"),
        ]),
        Goal(6, "社区公共服务综合事务经费", indicators=[
            _i(out, "城市新增就业人数", "100%", None),
            _i(out, "低保应保尽保率", "100%", "100%"),
            _i(out, "工作绩效考核合格率", "100%合格", "100%"),
            _i(sat, "老旧社区改造", "有效控制", "2200万元"),
        ]),
        Goal(7, "转业未安置志愿兵安置经费", indicators=[
            _i(eff, "志愿兵安置", "100%", "100%"),
            _i(eff, "落实转业未安置志愿兵待遇", "100%", "100%"),
        ]),
        Goal(8, "街道疫情防控经费", indicators=[
            _i(out, "做好疫情防控工作", "100%", None),
        ]),
        Goal(9, "计生事业费", indicators=[
            _i(out, "非访劝返率", "完成", "100%"),
            _i(out, "赴省重访率", "完成", "100%"),
            _i(sat, "消防隐患整治率 99%", "完成", "100%"),
        ]),
        Goal(10, "城管执法辅助人员", indicators=[
            _i(out, "综合管理第三方考核", "完成", "全区综合排名第3"),
            _i(sat, "群众对城管协管员文明执法满意度", "100%", "100%"),
        ]),
        Goal(11, "环卫所清扫清运经费", indicators=[
            _i(out, "辖区无暴露垃圾", "96%", "圆满完成"),
            _i(out, "做好辖区清扫清运日产日清", "完成", "完成"),
            _i(eff, "群众对环境美化满意度 90%以上", "完成", "100%"),
        ]),
        Goal(12, "基层环境卫生治理经费", indicators=[
            _i(out, "健康教育文明宣传", "完成", "圆满完成"),
            _i(out, "综合管理结案率", "100%", "100%"),
            _i(out, "背街小巷破损道路维修", "完成", "完成"),
            _i(eff, "综合管理第三方考核", "完成", "全区综合排名第3"),
            _i(sat, "“12135”投诉回复满意率", "100%", "完成"),
        ]),
    ]
    return Evaluation(
        department=Department("武汉市硚口区人民政府荣华街道办事处", "硚口区", "街道"),
        year=2022,
        self_score=98.0,
        budget=[BudgetLine("total", 5431.28, 5431.28), BudgetLine("basic", 2033.69, 2033.69),
                BudgetLine("project", 3397.59, 3397.59)],
        goals=goals,
        source_name="ronghua-2022.txt",
    )
