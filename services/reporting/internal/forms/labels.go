package forms

// zh names enum values (proto enum names) as bank staff write them on the
// forms; the dashboard's labels.json carries the same words.
var zh = map[string]string{
	"CHANNEL_ON_SITE": "现场口头", "CHANNEL_OPINION_BOOK": "客户意见簿", "CHANNEL_LETTER": "信函",
	"CHANNEL_PHONE": "电话", "CHANNEL_ONLINE": "网上/手机银行", "CHANNEL_HOTLINE": "客服热线",
	"CHANNEL_REGULATOR_REFERRAL": "监管转办",

	"CATEGORY_SYSTEM_FAILURE": "系统故障", "CATEGORY_EQUIPMENT_FAILURE": "设备故障",
	"CATEGORY_IDENTITY_MISMATCH": "客户身份信息不符", "CATEGORY_ACCOUNT_INFO_ERROR": "账户信息错误",
	"CATEGORY_TRANSACTION_ERROR": "交易差错", "CATEGORY_CASH_DISCREPANCY": "长短款",
	"CATEGORY_VOUCHER_ANOMALY": "重要空白凭证异常", "CATEGORY_SUSPECTED_FRAUD": "疑似电信诈骗",
	"CATEGORY_QUEUE_TICKET_INCIDENT": "排队叫号异常", "CATEGORY_SERVICE_ATTITUDE": "服务态度",
	"CATEGORY_PROCESSING_DELAY": "业务办理延误", "CATEGORY_FEE_DISPUTE": "手续费争议",
	"CATEGORY_BUSINESS_DISPUTE": "业务纠纷", "CATEGORY_PRODUCT_MISUNDERSTANDING": "产品理解偏差",
	"CATEGORY_RULE_DISPUTE": "业务规定异议", "CATEGORY_COMPENSATION_DEMAND": "赔偿诉求",
	"CATEGORY_FACILITIES": "服务设施",

	"SEVERITY_NORMAL": "一般", "SEVERITY_COMPLEX": "复杂", "SEVERITY_MAJOR": "重大",

	"CUSTOMER_TIER_REGULAR": "普通", "CUSTOMER_TIER_GOLD": "金卡", "CUSTOMER_TIER_PRIVATE": "私行",

	"CASE_STATUS_REPORTED": "已登记", "CASE_STATUS_VERIFYING": "核实中", "CASE_STATUS_HANDLING": "处理中",
	"CASE_STATUS_FOLLOWING_UP": "跟进中", "CASE_STATUS_ANSWERED": "已答复", "CASE_STATUS_CLOSED": "已归档",
	"CASE_STATUS_WITHDRAWN": "已撤诉", "CASE_STATUS_UNDER_REVIEW": "核查中",
	"CASE_STATUS_WAITING_FOR_CUSTOMER": "等待客户", "CASE_STATUS_WAITING_FOR_APPRAISAL": "等待鉴定",

	"ROOT_CAUSE_MANUAL_ENTRY_ERROR": "手工录入错误", "ROOT_CAUSE_SYSTEM_OPERATION_ERROR": "系统操作错误",
	"ROOT_CAUSE_CUSTOMER_INFO_CHECK_LAPSE": "客户信息核对疏漏", "ROOT_CAUSE_SYSTEM_FAILURE": "系统故障",
	"ROOT_CAUSE_EQUIPMENT_FAILURE": "设备故障", "ROOT_CAUSE_SERVICE_ATTITUDE": "服务态度",
	"ROOT_CAUSE_PROCESS_DESIGN": "流程设计", "ROOT_CAUSE_FEE_RULE": "收费规定",
	"ROOT_CAUSE_EXTERNAL_FRAUD": "外部诈骗", "ROOT_CAUSE_CUSTOMER_MISUNDERSTANDING": "客户误解",
	"ROOT_CAUSE_OTHER": "其他",

	"COMPENSATION_KIND_GIFT": "礼品", "COMPENSATION_KIND_FEE_REFUND": "退还手续费",
	"COMPENSATION_KIND_PHONE_CREDIT": "话费", "COMPENSATION_KIND_ADVISER_SERVICE": "专属顾问服务",
	"COMPENSATION_KIND_WEALTH_REVIEW": "年度财富检视", "COMPENSATION_KIND_CASH": "现金",

	"RECTIFICATION_STATUS_ISSUED": "已下发", "RECTIFICATION_STATUS_MEASURES_RECORDED": "已报整改措施",
	"RECTIFICATION_STATUS_CLOSED": "已验收关闭",

	// History steps (intake's HistoryEntry kind and action).
	"registered": "登记", "note": "备注", "handover": "移交", "startVerification": "开始核实",
	"recordVerification": "核实结论", "answer": "答复客户", "recordReturnVisit": "回访",
	"close": "归档", "withdraw": "撤诉", "reopen": "重新打开", "requestReview": "申请核查",
	"decideReview": "核查结论", "awaitCustomer": "等待客户", "resumeFromCustomer": "客户已回复",
	"awaitAppraisal": "等待鉴定", "resumeFromAppraisal": "鉴定完成", "reclassify": "调整复杂程度",
	"moveBranch": "移至其他网点", "acknowledge": "告知受理",
}

// Label is the Chinese name of an enum value or history step; a value
// without one prints as it is, and the zero value as blank.
func Label(name string) string {
	if l, ok := zh[name]; ok {
		return l
	}
	if len(name) > 12 && name[len(name)-12:] == "_UNSPECIFIED" {
		return ""
	}
	return name
}
