package regulatory

// Label is a dimension value's enum name and the Chinese name staff and
// regulators use for it.
type Label struct {
	Key  string
	Name string
}

// BusinessLines are the complaint categories (客户投诉; proto values 100 and
// up), in enum order. Counter exceptions are not consumer complaints and are
// not counted in regulatory figures.
var BusinessLines = []Label{
	{"CATEGORY_SERVICE_ATTITUDE", "服务态度"},
	{"CATEGORY_PROCESSING_DELAY", "业务办理延误"},
	{"CATEGORY_FEE_DISPUTE", "手续费争议"},
	{"CATEGORY_BUSINESS_DISPUTE", "业务纠纷"},
	{"CATEGORY_PRODUCT_MISUNDERSTANDING", "产品误解"},
	{"CATEGORY_RULE_DISPUTE", "业务规定争议"},
	{"CATEGORY_COMPENSATION_DEMAND", "赔偿诉求"},
	{"CATEGORY_FACILITIES", "服务设施"},
}

// Channels (受理渠道), in enum order.
var Channels = []Label{
	{"CHANNEL_UNSPECIFIED", "未记录"},
	{"CHANNEL_ON_SITE", "现场口头"},
	{"CHANNEL_OPINION_BOOK", "客户意见簿"},
	{"CHANNEL_LETTER", "信函"},
	{"CHANNEL_PHONE", "电话"},
	{"CHANNEL_ONLINE", "网上及手机银行"},
	{"CHANNEL_HOTLINE", "客服热线"},
	{"CHANNEL_REGULATOR_REFERRAL", "监管转办"},
}

// RootCauseUnknown keys complaints whose root cause is not yet recorded
// (it is recorded with the answer).
const RootCauseUnknown = "ROOT_CAUSE_UNSPECIFIED"

// RootCauses (投诉原因), in enum order.
var RootCauses = []Label{
	{RootCauseUnknown, "尚未认定"},
	{"ROOT_CAUSE_MANUAL_ENTRY_ERROR", "手工录入错误"},
	{"ROOT_CAUSE_SYSTEM_OPERATION_ERROR", "系统操作错误"},
	{"ROOT_CAUSE_CUSTOMER_INFO_CHECK_LAPSE", "客户信息核对疏漏"},
	{"ROOT_CAUSE_SYSTEM_FAILURE", "系统故障"},
	{"ROOT_CAUSE_EQUIPMENT_FAILURE", "设备故障"},
	{"ROOT_CAUSE_SERVICE_ATTITUDE", "服务态度"},
	{"ROOT_CAUSE_PROCESS_DESIGN", "流程设计"},
	{"ROOT_CAUSE_FEE_RULE", "收费规定"},
	{"ROOT_CAUSE_EXTERNAL_FRAUD", "外部欺诈"},
	{"ROOT_CAUSE_CUSTOMER_MISUNDERSTANDING", "客户误解"},
	{"ROOT_CAUSE_OTHER", "其他"},
}

func complaintCategories() []string {
	out := make([]string, len(BusinessLines))
	for i, l := range BusinessLines {
		out[i] = l.Key
	}
	return out
}
