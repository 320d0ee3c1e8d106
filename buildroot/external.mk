include $(sort $(wildcard $(BR2_EXTERNAL_IKE_PATH)/package/*/*.mk))
