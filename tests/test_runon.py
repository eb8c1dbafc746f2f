"""Headings in run-on text: notices copied from web pages arrive as one line, and their
structure is still found; body text that only looks like a heading is left alone."""

from __future__ import annotations

import pytest

from indexer.parse import parse_text
from indexer.runon import split_run_on

NOTICE = ("某市税务局关于支持疫情防控的通知 各区税务局：为贯彻落实决策部署，现提出以下要求。 一、支持疫情防控物资供应 "
          "对生产、销售疫情防控重点物资的企业，主管税务机关要加快审核进度，符合条件的尽快办理退税。"
          "二、支持疾控医疗救治 对非营利性医疗机构提供的医疗服务免征增值税。（一）加强组织领导。各单位要成立专班，"
          "明确责任分工；（二）强化宣传引导。要用好新媒体，讲好税务故事；（三）狠抓工作落实，确保各项措施落地见效。"
          "　1. 建立员工健康卡制度，加强员工健康监测。 2. 实施严格的人员出入登记制度，配齐防护物资。"
          " 三、鼓励公益慈善捐赠 鼓励社会各界倾力相助，积极支持疫情防控工作。")


def test_headings_are_found_mid_line():
    doc = parse_text(NOTICE, "通知.txt")
    paths = [s.path for s in doc.sections]
    assert ["一、支持疫情防控物资供应"] in paths
    assert ["二、支持疾控医疗救治", "（二）强化宣传引导"] in paths  # after `；`, continuing （一）
    assert ["二、支持疾控医疗救治", "（三）狠抓工作落实，确保各项措施落地见效"] in paths
    assert ["二、支持疾控医疗救治", "（三）狠抓工作落实，确保各项措施落地见效", "2.实施严格的人员出入登记制度，配齐防护物资"] in paths
    assert ["三、鼓励公益慈善捐赠"] in paths
    first = next(s for s in doc.sections if s.path == ["一、支持疫情防控物资供应"])
    assert "尽快办理退税" in doc.section_text(first)


@pytest.mark.parametrize("text", [
    "会议强调，一是加强组织领导，二是强化宣传引导，三是狠抓落实。各单位要切实把思想和行动统一到决策部署上来，确保各项工作落地见效。",
    "第一、第二批次的检查已经完成，相关工作按计划推进，各单位要认真落实，确保检查发现的问题整改到位，不留死角，取得实效。",
    "有下列情形之一的，处五日以下拘留：（一）散布谣言，谎报险情的；（二）阻碍国家机关工作人员依法执行职务的；（三）其他扰乱秩序的。",
    "认证方式为：1.实名登录政务APP，完成高级实名认证；2.通过首页进入服务；3.进入服务即可实时生成二维码，当天有效。",
    "价格上涨1.5倍，其中 2.5 倍以上的占比达到较高水平，需要加以关注，各地要持续关注价格变化情况并及时报告，做好保供稳价工作。",
])
def test_body_text_that_looks_like_headings_stays_whole(text):
    assert split_run_on([text]) == [text]
    doc = parse_text("某局通知\n" + text, "通知.txt")
    assert len(doc.sections) == 1


def test_short_paragraphs_keep_their_breaks():
    assert split_run_on(["一、总则。二、附则。"]) == ["一、总则。二、附则。"]


def test_a_notice_that_opens_items_after_a_colon():
    text = ("各项工作要求如下：一、建立强有力的工作推进机制。切实加强对企业复工复产工作的领导，成立工作专班，明确责任。"
            "二、出台针对性的政策措施。积极应对疫情冲击，及时协调解决企业困难和问题。")
    pieces = split_run_on([text])
    assert pieces[0] == "各项工作要求如下：" and pieces[1].startswith("一、") and pieces[2].startswith("二、")
